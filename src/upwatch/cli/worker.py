"""`upwatch worker --processes N`: scheduled checks in processes of their own.

The API (`upwatch serve` with checks off) and N worker processes share one PostgreSQL. Each
worker schedules the monitors of its shard (id % N), so no monitor is checked twice and each
result, incident and alert is made by one process. Workers hear of monitor changes through
PostgreSQL notifications (`engine.changes`); heartbeats stay with the API processes, which
receive the pings. The parent process only supervises: it restarts a worker that dies and, on
SIGTERM or SIGINT, stops them all (each drains its running checks and writes every result).
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import subprocess
import sys
import time
from types import FrameType

from upwatch.api.app import event_bus, redis_client
from upwatch.core.clock import SystemClock
from upwatch.core.waiting import wait_for_event
from upwatch.crypto import SecretBox, resolve_secret_key
from upwatch.db.engine import Database
from upwatch.engine.changes import ChangeListener
from upwatch.engine.engine import Engine
from upwatch.engine.shards import Shard
from upwatch.events.redis_bus import RedisEventBus
from upwatch.logs import get_logger
from upwatch.monitors.secrets import SecretStore
from upwatch.settings import Settings

# A worker drains its checks for up to engine.DRAIN_SECONDS and then writes what it holds;
# past this, the supervisor kills it (and says so).
CHILD_STOP_SECONDS = 25.0
RESTART_SECONDS = 1.0
LISTEN_WAIT_SECONDS = 10.0
POLL_SECONDS = 0.2
ORPHAN_CHECK_SECONDS = 1.0
log = get_logger("upwatch.worker")


async def run_shard(settings: Settings, shard: Shard, stop: asyncio.Event) -> None:
    """One worker process: schedule and run the checks of `shard` until `stop` is set."""
    redis = redis_client(settings)
    instance_key = resolve_secret_key(settings)
    bus = event_bus(redis, instance_key)
    database = Database(
        settings.effective_database_url, sqlite_synchronous=settings.sqlite_synchronous
    )
    store = SecretStore(SecretBox(instance_key, "monitor-secrets"))
    engine = Engine(database, settings, store, bus, SystemClock(), shard=shard)
    listener = ChangeListener(settings.effective_database_url, engine.refresh, engine.resync)
    if isinstance(bus, RedisEventBus):
        await bus.start()
    # Listen before loading, so that no change committed in between goes unheard.
    listener.start()
    if not await wait_for_event(listener.listening, LISTEN_WAIT_SECONDS):
        log.warning("worker.not_listening_yet")  # it reloads everything once it listens
    await engine.start(schedule_checks=True, heartbeats=False)
    gc.collect()
    gc.freeze()  # as in the API process: full collections stop walking long-lived objects
    log.info("worker.started", shard=str(shard), pid=os.getpid())
    try:
        await stop.wait()
    finally:
        log.info("worker.stopping", shard=str(shard))
        await listener.stop()
        await engine.stop()
        if isinstance(bus, RedisEventBus):
            await bus.stop()
        await database.dispose()
        if redis is not None:
            await redis.aclose()
        log.info("worker.stopped", shard=str(shard))


def run_shard_until_signalled(settings: Settings, shard: Shard, *, supervised: bool) -> None:
    """Run until SIGTERM or SIGINT; `supervised`: also stop if the supervisor is gone (killed
    without the chance to stop its workers, which would go on checking unsupervised)."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        watch = asyncio.create_task(_stop_when_orphaned(stop)) if supervised else None
        await run_shard(settings, shard, stop)
        if watch is not None:
            watch.cancel()

    import uvloop  # noqa: PLC0415 - as `upwatch serve` runs

    uvloop.run(main())


async def _stop_when_orphaned(stop: asyncio.Event) -> None:
    parent = os.getppid()
    while not stop.is_set():
        await asyncio.sleep(ORPHAN_CHECK_SECONDS)
        if os.getppid() != parent:
            log.error("worker.supervisor_gone", supervisor=parent)
            stop.set()


class Supervisor:
    """Runs `count` worker processes, restarts any that dies, stops them all on a signal."""

    def __init__(self, count: int) -> None:
        self._count = count
        self._children: dict[int, subprocess.Popen[bytes]] = {}
        self._stopping = False

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        for index in range(self._count):
            self._spawn(index)
        log.info("worker.supervising", processes=self._count, pid=os.getpid())
        while not self._stopping:
            for index, child in list(self._children.items()):
                code = child.poll()
                if code is not None and not self._stopping:
                    log.error("worker.child_exited", shard=f"{index}/{self._count}", code=code)
                    time.sleep(RESTART_SECONDS)
                    self._spawn(index)
            time.sleep(POLL_SECONDS)
        return self._stop_children()

    def _on_signal(self, _signum: int, _frame: FrameType | None) -> None:
        self._stopping = True

    def _spawn(self, index: int) -> None:
        command = [sys.executable, "-m", "upwatch", "worker", "--shard", f"{index}/{self._count}"]
        self._children[index] = subprocess.Popen(command)  # noqa: S603 - our own command

    def _stop_children(self) -> int:
        for child in self._children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + CHILD_STOP_SECONDS
        worst = 0
        for index, child in self._children.items():
            code = self._wait(child, deadline)
            if code is None:
                log.error("worker.stop_timed_out", shard=f"{index}/{self._count}", pid=child.pid)
                child.kill()
                code = child.wait()
            worst = worst or code
        log.info("worker.all_stopped", processes=self._count)
        return worst

    @staticmethod
    def _wait(child: subprocess.Popen[bytes], deadline: float) -> int | None:
        try:
            return child.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            return None
