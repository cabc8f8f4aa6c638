"""`upwatch worker --processes N`: scheduled checks in processes of their own.

The API (`upwatch serve` with checks off) and N worker processes share one PostgreSQL. Each
worker schedules the monitors of its shard (id % N), so no monitor is checked twice and each
result, incident and alert is made by one process. Workers hear of monitor changes through
PostgreSQL notifications (`engine.changes`); heartbeats stay with the API processes, which
receive the pings. The parent process only supervises: it forks the workers, restarts one
that dies at once and, on SIGTERM or SIGINT, stops them all (each drains its running checks
and writes every result).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import sys
import time
from types import FrameType
from typing import NoReturn

from upwatch.api.app import event_bus, redis_client
from upwatch.core.clock import SystemClock
from upwatch.core.waiting import wait_for_event
from upwatch.crypto import SecretBox, resolve_secret_key
from upwatch.db.engine import Database
from upwatch.engine.changes import ChangeListener
from upwatch.engine.checks.shards import Shard
from upwatch.engine.engine import Engine
from upwatch.events.redis_bus import RedisEventBus
from upwatch.logs import get_logger
from upwatch.monitors.secrets import SecretStore
from upwatch.settings import Settings

# A worker drains its checks for up to engine.DRAIN_SECONDS and then writes what it holds;
# past this, the supervisor kills it (and says so).
CHILD_STOP_SECONDS = 25.0
# A worker that dies within this long of its start is restarted only once this long has
# passed (a crash loop, not a burst of forks); one that ran longer is restarted at once.
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
    """Runs `count` worker processes, restarts any that dies, stops them all on a signal.

    Workers are forked from this process, which has already imported everything they run:
    a replacement starts checking as soon as it has connected and loaded its shard (well
    under a second), where a fresh interpreter spent seconds importing first (about 5 s on
    a busy machine, and its monitors missed their slots meanwhile).
    """

    def __init__(self, settings: Settings, count: int) -> None:
        self._settings = settings
        self._count = count
        self._children: dict[int, int] = {}  # shard index -> pid
        self._started: dict[int, float] = {}
        self._stopping = False

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        for index in range(self._count):
            self._spawn(index)
        log.info("worker.supervising", processes=self._count, pid=os.getpid())
        while not self._stopping:
            for index in self._exited():
                self._restart(index)
            time.sleep(POLL_SECONDS)
        return self._stop_children()

    def _on_signal(self, _signum: int, _frame: FrameType | None) -> None:
        self._stopping = True

    def _exited(self) -> list[int]:
        """The shards whose process has exited (reaped, and logged with its exit code)."""
        exited = []
        for index, pid in list(self._children.items()):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                code = os.waitstatus_to_exitcode(status)
                log.error("worker.child_exited", shard=f"{index}/{self._count}", code=code)
                del self._children[index]
                exited.append(index)
        return exited

    def _restart(self, index: int) -> None:
        # At once, unless it died within a second of starting: a worker that cannot start
        # (a bad setting, a database refusing it) is retried once a second, not in a loop.
        lived = time.monotonic() - self._started[index]
        if lived < RESTART_SECONDS:
            time.sleep(RESTART_SECONDS - lived)
        if not self._stopping:
            self._spawn(index)

    def _spawn(self, index: int) -> None:
        sys.stdout.flush()  # or the child would write this process's buffered output again
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            self._become_worker(index)
        self._children[index] = pid
        self._started[index] = time.monotonic()

    def _become_worker(self, index: int) -> NoReturn:
        code = 1
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the worker's loop handles them
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            shard = Shard(index, self._count)
            run_shard_until_signalled(self._settings, shard, supervised=True)
            code = 0
        except Exception:  # logged; `finally` keeps a forked child from returning to the CLI
            log.exception("worker.crashed", shard=f"{index}/{self._count}")
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)

    def _stop_children(self) -> int:
        for pid in self._children.values():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + CHILD_STOP_SECONDS
        worst = 0
        for index, pid in self._children.items():
            code = self._wait(pid, deadline)
            if code is None:
                log.error("worker.stop_timed_out", shard=f"{index}/{self._count}", pid=pid)
                os.kill(pid, signal.SIGKILL)
                code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
            worst = worst or code
        log.info("worker.all_stopped", processes=self._count)
        return worst

    @staticmethod
    def _wait(pid: int, deadline: float) -> int | None:
        """The exit code of `pid` once it exits, or None if it is still running at `deadline`."""
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return os.waitstatus_to_exitcode(status)
            if time.monotonic() >= deadline:
                return None
            time.sleep(POLL_SECONDS)
