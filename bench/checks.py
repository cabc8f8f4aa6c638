"""Scheduled active checks at scale: with N http monitors at one interval, does every slot
get its check, how late does it start, and what does it cost the server?

Starts a minimal HTTP/1.1 target on 127.0.0.1 in its own process (so its CPU is not the
server's), seeds N http monitors on a fresh database (bulk rows: exactly those the product's
create path writes, see `seed`), then runs `upwatch serve` with checks on. After a warm-up
(the server loads and places the monitors), for `--duration` seconds it measures:

- expected checks: the slots falling in the window, from the scheduler's own phase formula
  (`upwatch.engine.checks.schedule`, imported, not copied);
- completed checks: result rows whose `scheduled_at` is in the window;
- start lateness: `checked_at - scheduled_at` of those rows. It includes the scheduler's
  deliberate jitter of up to 50 ms (`scheduler_jitter_ms`) and any wait for a concurrency
  slot (`checked_at` is stamped when the check holds its slots and starts);
- the server's CPU over the window (100 % = one core), its peak RSS (VmHWM) and its RSS at
  the end.

Then it stops the server gracefully (its writer flushes) and counts every stored result row.

The server's settings: `UPWATCH_CHECKS_PER_HOST` = `UPWATCH_CHECK_CONCURRENCY` =
`--check-concurrency` (default 500, the product's default global cap): every monitor targets
the one local host, which here stands for many hosts, so the per-host cap (default 10) must
not be what is measured. `UPWATCH_MIN_INTERVAL_SECONDS` = the interval (only the API enforces
it; set so the monitors are ones the API would accept). Monitor timeout: 5 s, or 3/4 of a
shorter interval (the API's rule). `UPWATCH_LOG_LEVEL=warning`. No traffic leaves 127.0.0.1.

    python bench/checks.py --monitors 10000 --interval 60 --duration 120
    python bench/checks.py --monitors 2000 --interval 10 --duration 30 \\
        --database-url postgresql://root@127.0.0.1:5432/test

Prints a summary, then one JSON line with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, cast
from uuid import UUID

import httpx
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/scratch.py

from scratch import add_sqlite_synchronous, backend, fresh_database, sqlite_synchronous_env
from sqlalchemy import func, insert, select

from upwatch.accounts.bootstrap import first_run
from upwatch.audit import service as audit
from upwatch.core.ids import uuid7
from upwatch.db.engine import Database
from upwatch.db.migrate import upgrade
from upwatch.db.unit_of_work import unit_of_work
from upwatch.engine.checks import schedule
from upwatch.engine.checks.scheduler import JITTER_SECONDS
from upwatch.logs import configure_logging
from upwatch.models import AuditLog, CheckResult, Monitor, MonitorState, Organization
from upwatch.monitors import secrets, service
from upwatch.monitors.policy import MonitorStatus
from upwatch.monitors.schemas import MonitorCreate
from upwatch.settings import Settings

CHUNK = 5000
TIMEOUT_MS = 5000  # "a few seconds"; shorter when the interval needs it (the API's rule)
READY_SECONDS = 60
STOP_SECONDS = 60
TARGET_READY_SECONDS = 10
ACTOR = audit.Actor(source=audit.Source.SYSTEM)  # seeding is no one's API request
# What service.create stores as the state of a new active monitor (service._initial_state).
INITIAL_STATE = {"status": str(MonitorStatus.PENDING), "check_status": str(MonitorStatus.PENDING)}


# The target: a raw asyncio HTTP/1.1 server (a Protocol, on uvloop like the server under
# test) answering 200 "ok" to every request, on kept-alive and closed connections alike.


class TargetProtocol(asyncio.Protocol):
    served = 0  # requests answered by this process

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while (end := self._buffer.find(b"\r\n\r\n")) >= 0:
            head = bytes(self._buffer[:end]).lower()
            size = end + 4 + _content_length(head)
            if len(self._buffer) < size:
                return  # the request body is still coming
            del self._buffer[:size]
            if not self._answer(head):
                return

    def _answer(self, head: bytes) -> bool:
        """Answer one request; False once the connection is closed."""
        assert self._transport is not None
        TargetProtocol.served += 1
        request_line = head.split(b"\r\n", 1)[0]
        # HTTP/1.1 keeps the connection unless told not to; HTTP/1.0 closes unless asked.
        close = b"connection: close" in head or (
            request_line.endswith(b"http/1.0") and b"connection: keep-alive" not in head
        )
        response = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
        response += b"Connection: close\r\n\r\n" if close else b"\r\n"
        self._transport.write(response if request_line.startswith(b"head ") else response + b"ok")
        if close:
            self._transport.close()
        return not close


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip() == b"content-length":
            return int(value.strip() or 0)
    return 0


def serve_target(report: Connection) -> None:
    """The target process: sends its port, answers until SIGTERM or SIGINT, then sends how
    many requests it served."""
    uvloop.run(_serve_target(report))


async def _serve_target(report: Connection) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(TargetProtocol, "127.0.0.1", 0, backlog=4096)
    stop = asyncio.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, stop.set)
    report.send(server.sockets[0].getsockname()[1])
    async with server:
        await stop.wait()
    report.send(TargetProtocol.served)


class Target:
    """The target's process: its port, pid, and (once stopped) how many requests it served."""

    def __init__(self) -> None:
        # Forked before this process has any thread (fork copies only the calling thread).
        context = multiprocessing.get_context("fork")
        self._reader, writer = context.Pipe(duplex=False)
        self.process = context.Process(target=serve_target, args=(writer,), daemon=True)
        self.process.start()
        writer.close()
        if not self._reader.poll(TARGET_READY_SECONDS):
            raise SystemExit("the HTTP target did not start")
        self.port: int = self._reader.recv()
        self.served = 0

    @property
    def pid(self) -> int:
        assert self.process.pid is not None
        return self.process.pid

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.terminate()
            with contextlib.suppress(EOFError, OSError):
                if self._reader.poll(5):
                    self.served = self._reader.recv()
            self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self._reader.close()


@contextmanager
def running_target() -> Iterator[Target]:
    target = Target()
    try:
        yield target
    finally:
        target.stop()


# Seeding: the rows of POST /api/v1/monitors, in bulk.


def timeout_ms(interval: int) -> int:
    return min(TIMEOUT_MS, service.default_timeout_ms(interval))


def monitor_values(target_url: str, interval: int) -> dict[str, Any]:
    """The monitor row the API makes of `{"kind": "http", "target", "interval_seconds",
    "timeout_ms"}`: MonitorCreate's defaults, computed as service.create computes them."""
    data = MonitorCreate(
        name="bench", kind="http", target=target_url, interval_seconds=interval,
        timeout_ms=timeout_ms(interval),
    )  # fmt: skip
    service.host_of(data.kind, data.target)
    public, hidden = secrets.split(
        service.config_for(data.kind, data.config), service.secret_paths(data.kind)
    )
    if hidden:  # the default http config has none, so nothing needs the server's key
        raise SystemExit("the default http config has secrets: seed them with the server's key")
    return {
        **data.model_dump(include=set(service.AUDITED)),
        "target": data.target.strip(),
        "config": public,
        "secret_config": None,
        "group_id": None,
        "website_id": None,
        "depends_on_id": None,
    }


def audit_values(monitor: dict[str, Any]) -> dict[str, Any]:
    """The `monitor.create` audit row service.create records for this monitor."""
    changes = audit.created({**{name: monitor[name] for name in service.AUDITED}, "tags": []})
    shown = secrets.redact(monitor["config"], service.secret_paths(monitor["kind"]))
    changes["config"] = {"from": None, "to": shown}
    return {
        "public_id": uuid7(),
        "organization_id": monitor["organization_id"],
        "actor_user_id": ACTOR.user_id,
        "actor_email": ACTOR.email,
        "actor_token_id": ACTOR.token_id,
        "actor_token_prefix": ACTOR.token_prefix,
        "source": str(ACTOR.source),
        "action": "monitor.create",
        "resource_type": "monitor",
        "resource_id": str(monitor["public_id"]),
        "changes": changes,
        "created_at": monitor["created_at"],
    }


async def seed(database_url: str, target_url: str, count: int, interval: int) -> list[UUID]:
    """The first owner's organization and `count` monitors with their states and
    audit rows, CHUNK per transaction; returns the monitors' public ids."""
    database = Database(database_url)
    try:
        now = datetime.now(UTC)
        async with unit_of_work(database) as session:
            # The first run's organization and owner, made here, so that the server skips
            # its first run: that password hash (Argon2, 64 MB) would be the server's peak RSS.
            await first_run(session, email="bench@example.com", password=None, now=now)
            organization_id = (await session.execute(select(Organization.id))).scalar_one()
        values = {
            **monitor_values(target_url, interval),
            "organization_id": organization_id,
            "created_at": now,
            "updated_at": now,
        }
        public_ids = [uuid7() for _ in range(count)]
        for offset in range(0, count, CHUNK):
            await _seed_chunk(database, values, public_ids[offset : offset + CHUNK], offset)
    finally:
        await database.dispose()
    return public_ids


async def _seed_chunk(
    database: Database, values: dict[str, Any], public_ids: list[UUID], offset: int
) -> None:
    monitors = [
        {**values, "public_id": public_id, "name": f"bench {offset + index}"}
        for index, public_id in enumerate(public_ids)
    ]
    async with unit_of_work(database) as session:
        inserted = await session.execute(
            insert(Monitor).returning(Monitor.id, sort_by_parameter_order=True), monitors
        )
        states = [{"monitor_id": monitor_id, **INITIAL_STATE} for monitor_id in inserted.scalars()]
        await session.execute(insert(MonitorState), states)
        await session.execute(insert(AuditLog), [audit_values(row) for row in monitors])


# The server under test.


def base_server_env(database_url: str, data_dir: str, port: int) -> dict[str, str]:
    """The measured server's environment. A shell's own UPWATCH_* (a Redis URL, another
    database) must not reach it: only the settings named here and by each benchmark differ
    from the defaults."""
    inherited = {
        name: value for name, value in os.environ.items() if not name.startswith("UPWATCH_")
    }
    return {
        **inherited,
        "UPWATCH_DATABASE_URL": database_url,
        "UPWATCH_DATA_DIR": data_dir,
        "UPWATCH_HOST": "127.0.0.1",
        "UPWATCH_PORT": str(port),
    }


def server_env(
    args: argparse.Namespace, database_url: str, data_dir: str, port: int
) -> dict[str, str]:
    return {
        **base_server_env(database_url, data_dir, port),
        # With --workers, `upwatch worker` processes run the checks and the API does not.
        "UPWATCH_RUN_CHECKS": "false" if args.workers else "true",
        "UPWATCH_MIN_INTERVAL_SECONDS": str(args.interval),
        "UPWATCH_CHECK_CONCURRENCY": str(args.check_concurrency),
        "UPWATCH_CHECKS_PER_HOST": str(args.check_concurrency),  # one host stands for many
        "UPWATCH_PROBE_PUBLIC_ONLY": "false",  # the target is on loopback
        "UPWATCH_LOG_LEVEL": "warning",
        **sqlite_synchronous_env(args),
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "upwatch", "serve"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def wait_ready(server: subprocess.Popen[bytes], port: int, log: Path) -> None:
    give_up = time.monotonic() + READY_SECONDS
    while time.monotonic() < give_up and server.poll() is None:
        with contextlib.suppress(httpx.HTTPError):
            # trust_env=False: a proxy from the environment must not see (or get) this request.
            ready = httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=1, trust_env=False)
            if ready.status_code == 200:
                return
        time.sleep(0.2)
    raise SystemExit(f"upwatch serve did not become ready:\n{log.read_text()[-2000:]}")


def stop_server(server: subprocess.Popen[bytes]) -> bool:
    """SIGINT (uvicorn's graceful shutdown: the engine drains, the writer flushes) and wait;
    True if it stopped by itself."""
    return stop_process(server, signal.SIGINT)


def stop_process(process: subprocess.Popen[bytes], signum: int) -> bool:
    """Send `signum` and wait (killing it after STOP_SECONDS); True if it exited 0."""
    if process.poll() is not None:
        return process.returncode == 0
    process.send_signal(signum)
    try:
        process.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return False
    return process.returncode == 0


@contextmanager
def running_server(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    server = start_server(env, log)
    try:
        yield server
    finally:
        stop_server(server)


def start_workers(processes: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`upwatch worker --processes N`: a supervisor and its N worker processes."""
    with log.open("wb") as output:
        return subprocess.Popen(  # noqa: S603 - our own command
            [sys.executable, "-m", "upwatch", "worker", "--processes", str(processes)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def children_of(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.extend(int(child) for child in (task / "children").read_text().split())
    return found


def wait_for_workers(supervisor: subprocess.Popen[bytes], count: int, log: Path) -> list[int]:
    """The pids of the supervisor and of its `count` workers, once all have started."""
    give_up = time.monotonic() + READY_SECONDS
    while time.monotonic() < give_up and supervisor.poll() is None:
        if log.read_text(errors="replace").count("worker.started") >= count:
            return [supervisor.pid, *children_of(supervisor.pid)]
        time.sleep(0.2)
    raise SystemExit(f"upwatch worker did not start:\n{log.read_text()[-2000:]}")


def stop_workers(supervisor: subprocess.Popen[bytes]) -> bool:
    """SIGTERM: every worker drains its checks and writes its results; True if all stopped
    by themselves (the supervisor exits 0)."""
    return stop_process(supervisor, signal.SIGTERM)


# Measuring.


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Usage:
    """CPU seconds of the server and the target, and when they were read."""

    server: float
    target: float
    at: float

    @classmethod
    def read(cls, server_pids: list[int], target_pid: int) -> Usage:
        server = sum(cpu_seconds(pid) for pid in server_pids)
        return cls(server, cpu_seconds(target_pid), time.monotonic())

    def percent_since(self, before: Usage) -> tuple[float, float]:
        """CPU % of the server and of the target between the two readings (100 = a core)."""
        elapsed = self.at - before.at
        return (
            (self.server - before.server) / elapsed * 100,
            (self.target - before.target) / elapsed * 100,
        )


def cpu_seconds(pid: int) -> float:
    """utime + stime of every thread of the process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_mb(pid: int, field: str) -> float:
    """A memory figure of /proc/<pid>/status: VmHWM (peak RSS), VmRSS (now)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def log_problems(log: Path) -> int:
    """Warnings and errors the server logged (console format: `<time> [warning  ] ...`)."""
    text = log.read_text(errors="replace")
    return sum(text.count(f" [{level}") for level in ("warning", "error", "critical"))


def wait_until(moment: datetime, server: subprocess.Popen[bytes], log: Path) -> None:
    """Sleep until `moment`, failing early if the server dies meanwhile."""
    while (left := (moment - datetime.now(UTC)).total_seconds()) > 0:
        if server.poll() is not None:
            raise SystemExit(f"upwatch serve exited early:\n{log.read_text()[-2000:]}")
        time.sleep(min(left, 0.5))


def expected_slots(public_ids: list[UUID], interval: int, window: Window) -> int:
    """Slots in the window: each monitor's phase lattice (the scheduler's own formula)."""
    total = 0
    for public_id in public_ids:
        first = schedule.first_slot(public_id, interval, window.start)
        if first < window.end:
            total += math.ceil((window.end - first).total_seconds() / interval)
    return total


@dataclass(frozen=True, slots=True)
class Stored:
    lateness_ms: list[float]
    failed: int
    duplicates: int  # rows beyond the first for one monitor and slot: there should be none
    total: int


async def stored_results(database_url: str, window: Window) -> Stored:
    database = Database(database_url)
    try:
        async with database.session() as session:
            rows = (
                await session.execute(
                    select(
                        CheckResult.monitor_id,
                        CheckResult.scheduled_at,
                        CheckResult.checked_at,
                        CheckResult.ok,
                    ).where(
                        CheckResult.scheduled_at >= window.start,
                        CheckResult.scheduled_at < window.end,
                    )
                )
            ).all()
            total = (
                await session.execute(select(func.count()).select_from(CheckResult))
            ).scalar_one()
    finally:
        await database.dispose()
    return Stored(
        lateness_ms=[
            (checked - scheduled).total_seconds() * 1000 for _, scheduled, checked, _ in rows
        ],
        failed=sum(1 for *_, ok in rows if not ok),
        duplicates=len(rows) - len({(monitor_id, scheduled) for monitor_id, scheduled, *_ in rows}),
        total=int(total),
    )


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


# The run.


@dataclass(frozen=True, slots=True)
class Observed:
    """What was seen of the running server."""

    ready_seconds: float
    window: Window
    cpu_percent: float
    target_cpu_percent: float
    peak_rss_mb: float
    rss_mb: float
    stopped_gracefully: bool
    log_problems: int


def observe(args: argparse.Namespace, database_url: str, scratch: str, target: Target) -> Observed:
    """Start the server (and the workers), sample them over the window, stop them
    gracefully. CPU and memory are those of every Upwatch process, summed."""
    port, log = free_port(), Path(args.server_log or Path(scratch) / "serve.log")
    worker_log = log.with_name(log.stem + ".workers.log")
    env = server_env(args, database_url, scratch, port)
    began = time.monotonic()
    with running_server(env, log) as server, ExitStack() as stack:
        wait_ready(server, port, log)
        pids, workers = [server.pid], None
        if args.workers:
            # At info level: the workers say when they have started.
            workers = start_workers(args.workers, {**env, "UPWATCH_LOG_LEVEL": "info"}, worker_log)
            stack.callback(stop_workers, workers)  # also when anything below fails
            pids = [server.pid, *wait_for_workers(workers, args.workers, worker_log)]
        ready_seconds = time.monotonic() - began
        start = datetime.now(UTC) + timedelta(seconds=args.warmup)
        window = Window(start, start + timedelta(seconds=args.duration))
        wait_until(window.start, server, log)
        before = Usage.read(pids, target.pid)
        wait_until(window.end, server, log)
        server_cpu, target_cpu = Usage.read(pids, target.pid).percent_since(before)
        # The checks of the window's last slots start within the jitter and end within
        # their timeout: let them, so that only late checks are missing.
        grace = JITTER_SECONDS + timeout_ms(args.interval) / 1000 + 1
        wait_until(window.end + timedelta(seconds=grace), server, log)
        peak = sum(memory_mb(pid, "VmHWM") for pid in pids)
        rss = sum(memory_mb(pid, "VmRSS") for pid in pids)
        graceful = workers is None or stop_workers(workers)
        graceful = stop_server(server) and graceful
    problems = log_problems(log) + (log_problems(worker_log) if args.workers else 0)
    return Observed(ready_seconds, window, server_cpu, target_cpu, peak, rss, graceful, problems)


def run(
    args: argparse.Namespace, database_url: str, scratch: str, target: Target
) -> dict[str, Any]:
    upgrade(database_url)
    seeding = time.monotonic()
    target_url = f"http://127.0.0.1:{target.port}/"
    public_ids = asyncio.run(seed(database_url, target_url, args.monitors, args.interval))
    seed_seconds = time.monotonic() - seeding
    seen = observe(args, database_url, scratch, target)
    target.stop()  # now, so that it reports how many requests it served
    stored = asyncio.run(stored_results(database_url, seen.window))
    expected = expected_slots(public_ids, args.interval, seen.window)
    return {
        **setup_figures(args, database_url),
        "seed_seconds": round(seed_seconds, 2),
        "ready_seconds": round(seen.ready_seconds, 2),
        **check_figures(expected, stored, args.duration),
        "cpu_percent": round(seen.cpu_percent, 1),
        "peak_rss_mb": round(seen.peak_rss_mb, 1),
        "rss_mb": round(seen.rss_mb, 1),
        "target_cpu_percent": round(seen.target_cpu_percent, 1),
        "target_requests": target.served,
        # Each check is one request (concurrency 1, no redirect): any surplus is checks made
        # but never stored.
        "unstored_checks": target.served - stored.total,
        "stopped_gracefully": seen.stopped_gracefully,
        "server_log_problems": seen.log_problems,
    }


def setup_figures(args: argparse.Namespace, database_url: str) -> dict[str, Any]:
    return {
        "monitors": args.monitors,
        "interval_seconds": args.interval,
        "duration_seconds": args.duration,
        "warmup_seconds": args.warmup,
        "backend": backend(database_url),
        "workers": args.workers,
        "check_concurrency": args.check_concurrency,
        "checks_per_host": args.check_concurrency,
        "timeout_ms": timeout_ms(args.interval),
        "sqlite_synchronous": args.sqlite_synchronous,
    }


def check_figures(expected: int, stored: Stored, duration: float) -> dict[str, Any]:
    completed, late = len(stored.lateness_ms), stored.lateness_ms
    return {
        "expected_checks": expected,
        "completed_checks": completed,
        "completed_percent": round(100 * completed / expected, 2) if expected else None,
        "failed_checks": stored.failed,
        "duplicate_checks": stored.duplicates,
        "checks_per_second": round(completed / duration, 1),
        "scheduler_jitter_ms": JITTER_SECONDS * 1000,
        "lateness_p50_ms": round(statistics.median(late), 1) if late else None,
        "lateness_p99_ms": round(percentile(late, 0.99), 1) if late else None,
        "lateness_max_ms": round(max(late), 1) if late else None,
        "rows_stored": stored.total,
    }


def workers_note(result: dict[str, Any]) -> str:
    workers = result["workers"]
    return f", checks in {workers} worker processes" if workers else ""


def summary(result: dict[str, Any]) -> str:
    return (
        f"{result['monitors']} http monitors every {result['interval_seconds']} s on "
        f"{result['backend']}{workers_note(result)} ({result['duration_seconds']} s window after "
        f"{result['warmup_seconds']} s warm-up): {result['completed_checks']}/"
        f"{result['expected_checks']} checks ({result['completed_percent']} %, "
        f"{result['failed_checks']} failed, {result['checks_per_second']}/s); start lateness "
        f"p50 {result['lateness_p50_ms']} ms, p99 {result['lateness_p99_ms']} ms, max "
        f"{result['lateness_max_ms']} ms (jitter up to {result['scheduler_jitter_ms']:g} ms "
        f"included); {result['rows_stored']} rows stored; Upwatch CPU {result['cpu_percent']} %, "
        f"RSS peak {result['peak_rss_mb']} MB, at the end {result['rss_mb']} MB; target CPU "
        f"{result['target_cpu_percent']} %, {result['target_requests']} requests answered "
        f"({result['unstored_checks']} not stored); "
        f"seeded in {result['seed_seconds']} s, ready in {result['ready_seconds']} s"
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--monitors", type=int, default=10_000)
    parser.add_argument("--interval", type=int, default=60, help="seconds between checks")
    parser.add_argument("--duration", type=float, default=120.0, help="measured seconds")
    parser.add_argument(
        "--warmup", type=float, help="seconds after ready before measuring (max(interval, 10))"
    )
    parser.add_argument(
        "--check-concurrency", type=int, default=500, help="global and per-host check cap"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="run the checks in `upwatch worker --processes N` beside `upwatch serve "
        "--no-checks` (PostgreSQL); 0: in the server",
    )
    parser.add_argument("--server-log", help="keep the server's log in this file")
    parser.add_argument(
        "--database-url", help="a PostgreSQL server to make a scratch database on (default: SQLite)"
    )
    add_sqlite_synchronous(parser)
    args = parser.parse_args()
    if args.workers and backend(args.database_url) != "postgresql":
        parser.error("--workers needs --database-url: worker processes run on PostgreSQL")
    if args.warmup is None:
        args.warmup = float(max(args.interval, 10))
    return args


def stop_on_sigterm(number: int, _frame: object) -> None:
    raise SystemExit(128 + number)  # so that the server and the target are stopped too


def main() -> None:
    args = parse_args()
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    configure_logging(Settings(log_level="warning"))  # the migrations' and seeding's logs
    with ExitStack() as stack:
        # The target first: it is forked, and this process has no thread yet.
        target = stack.enter_context(running_target())
        url = stack.enter_context(fresh_database(args.database_url, "upwatch_bench_checks"))
        scratch = stack.enter_context(tempfile.TemporaryDirectory())
        result = run(args, url, scratch, target)
    print(summary(result))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
