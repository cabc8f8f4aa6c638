"""Live event streams opened and closed in bulk: does the server give back what they took?

Starts `upwatch serve` as its own process on a fresh database, with the stream caps, the
connection cap and the rate limit lifted so that one token may open them all (as the tester
who found RSS going from 138 to 221 MB did). Then R rounds (default 3): open N SSE streams
(`GET /api/v1/events`, default 2,000) of that token at once, over raw sockets on 127.0.0.1,
each read until the server's first block (it has subscribed by then); hold them; close them
all from the client side; wait (bounded) until the server's `/metrics` shows no stream open
and no bus subscriber. The server's RSS (VmRSS) is read before the first round, with the
streams open, and after each round. A leak grows round after round; a high-water mark (memory
the allocators keep for reuse) does not.

Prints a summary and, last, one JSON line: `backend`, `streams`, `rounds`, `rss_start_mb`,
`rss_open_mb` and `rss_closed_mb` (one per round), `streams_open_after`,
`subscribers_after` (one per round: what the server still held), `open_errors`,
`ready_seconds`, `stopped_gracefully`, `server_log_problems`.

`--in-process` serves the app from a thread of this process instead (uvicorn with the same
options), to look inside: `blocks_delta` (live pymalloc blocks after the rounds minus before
them), `grown_types` (the object types whose count grew most), and `rss_trimmed_mb` (RSS after
glibc's `malloc_trim(0)`: what the allocator gave back). Its RSS includes the client's.

    python bench/streams.py [--streams 2000] [--rounds 3] [--in-process] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import gc
import json
import os
import re
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/scratch.py, bench/checks.py

from checks import (
    base_server_env,
    free_port,
    log_problems,
    memory_mb,
    running_server,
    stop_on_sigterm,
    stop_server,
    wait_ready,
)
from scratch import fresh_database

from upwatch.accounts.bootstrap import first_run
from upwatch.api.app import create_app
from upwatch.api.serving import serve_options
from upwatch.core.clock import SystemClock
from upwatch.db.engine import Database
from upwatch.db.migrate import upgrade
from upwatch.db.unit_of_work import unit_of_work
from upwatch.settings import Settings

TOKEN = re.compile(r"uw_[A-Za-z0-9_-]{43}")
METRICS_TOKEN = "bench-streams-metrics-token"  # /metrics may be protected: always send one
OPEN_AT_ONCE = 200  # connections being opened at a time (the listen backlog is 2048)
WAIT_SECONDS = 60.0  # the longest wait for the server to let go of closed streams
READ_SECONDS = 30.0


def lifted(streams: int) -> dict[str, str]:
    """The settings of the server under test (without the UPWATCH_ prefix)."""
    return {
        "STREAMS_PER_TOKEN": str(streams),
        "STREAMS_PER_ORGANIZATION": str(streams),
        "MAX_STREAMS": str(streams),
        "MAX_CONNECTIONS": str(streams + 100),
        "RATE_LIMIT_PER_MINUTE": "1000000000",  # every stream is a request
        "METRICS_TOKEN": METRICS_TOKEN,
        "RUN_CHECKS": "false",  # nothing but the streams
        "LOG_LEVEL": "warning",
    }


def server_env(database_url: str, data_dir: str, port: int, streams: int) -> dict[str, str]:
    settings = {f"UPWATCH_{name}": value for name, value in lifted(streams).items()}
    return {**base_server_env(database_url, data_dir, port), **settings}


def first_run_token(log: Path) -> str:
    found = TOKEN.search(log.read_text())
    if found is None:
        raise SystemExit(f"no first-run token in the server's output:\n{log.read_text()[-2000:]}")
    return found.group(0)


async def open_stream(port: int, token: str) -> asyncio.StreamWriter:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {token}\r\n\r\n".encode()
    )
    try:
        await read_first_block(reader)
    except BaseException:
        writer.close()  # a stream that failed to open must not stay open
        raise
    return writer


async def read_first_block(reader: asyncio.StreamReader) -> None:
    """Read until the server's `retry:` block: it has subscribed the stream by then."""
    received = b""
    async with asyncio.timeout(READ_SECONDS):
        while b"retry:" not in received:
            chunk = await reader.read(4096)
            if not chunk:
                raise ConnectionError(received.decode("latin-1")[:200])
            received += chunk


async def open_streams(port: int, token: str, count: int) -> tuple[list[Any], int]:
    """The open streams' writers, and how many could not be opened."""
    gate = asyncio.Semaphore(OPEN_AT_ONCE)

    async def one() -> asyncio.StreamWriter:
        async with gate:
            return await open_stream(port, token)

    outcomes = await asyncio.gather(*(one() for _ in range(count)), return_exceptions=True)
    writers = [outcome for outcome in outcomes if isinstance(outcome, asyncio.StreamWriter)]
    return writers, count - len(writers)


async def close_streams(writers: list[asyncio.StreamWriter]) -> None:
    for writer in writers:
        writer.close()
    await asyncio.gather(*(writer.wait_closed() for writer in writers), return_exceptions=True)


async def one_round(port: int, token: str, count: int, pid: int) -> tuple[int, float]:
    """Open `count` streams, read the server's RSS, close them: (failed to open, RSS MB)."""
    writers, failed = await open_streams(port, token, count)
    rss = round(memory_mb(pid, "VmRSS"), 1)
    await close_streams(writers)
    return failed, rss


def gauges(port: int) -> dict[str, float]:
    response = httpx.get(
        f"http://127.0.0.1:{port}/metrics",
        headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
        timeout=READ_SECONDS,
        trust_env=False,
    )
    response.raise_for_status()
    values = {}
    for name in ("upwatch_event_streams_open", "upwatch_event_subscribers"):
        found = re.search(rf"^{name} (\S+)$", response.text, re.MULTILINE)
        values[name] = float(found.group(1)) if found else float("nan")
    return values


def let_go(port: int) -> dict[str, float]:
    """The gauges once the server holds no stream and no subscriber (or after the wait)."""
    give_up = time.monotonic() + WAIT_SECONDS
    while True:
        held = gauges(port)
        if not any(held.values()) or time.monotonic() > give_up:
            return held
        time.sleep(0.5)


def measure(args: argparse.Namespace, database_url: str, scratch: str) -> dict[str, Any]:
    upgrade(database_url)
    port, log = free_port(), Path(scratch) / "serve.log"
    figures: dict[str, Any] = {"rss_open_mb": [], "rss_closed_mb": [], "streams_open_after": []}
    figures.update(subscribers_after=[], open_errors=0)
    began = time.monotonic()
    with running_server(server_env(database_url, scratch, port, args.streams), log) as server:
        wait_ready(server, port, log)
        figures["ready_seconds"] = round(time.monotonic() - began, 2)
        token = first_run_token(log)
        time.sleep(args.settle)
        figures["rss_start_mb"] = round(memory_mb(server.pid, "VmRSS"), 1)
        for _ in range(args.rounds):
            failed, rss_open = asyncio.run(one_round(port, token, args.streams, server.pid))
            figures["open_errors"] += failed
            figures["rss_open_mb"].append(rss_open)
            held = let_go(port)
            figures["streams_open_after"].append(held["upwatch_event_streams_open"])
            figures["subscribers_after"].append(held["upwatch_event_subscribers"])
            figures["rss_closed_mb"].append(round(memory_mb(server.pid, "VmRSS"), 1))
        figures["stopped_gracefully"] = stop_server(server)
    figures["server_log_problems"] = log_problems(log)
    backend = "postgresql" if database_url.startswith("postgres") else "sqlite"
    return {"backend": backend, "streams": args.streams, "rounds": args.rounds, **figures}


async def owner_token(settings: Settings) -> str:
    database = Database(settings.effective_database_url)
    try:
        async with unit_of_work(database) as session:
            created = await first_run(
                session, email="bench@example.com", password=None, now=SystemClock().now()
            )
    finally:
        await database.dispose()
    assert created is not None, "the database was not empty"
    return created.token


@contextmanager
def serving_here(settings: Settings) -> Iterator[int]:
    """The app served by uvicorn from a thread of this process; yields its port."""
    port = free_port()
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        backlog=4096,
        **serve_options(settings),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    give_up = time.monotonic() + READ_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > give_up:
            raise SystemExit("the in-process server did not start")
        time.sleep(0.05)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(READ_SECONDS)


def census() -> Counter[str]:
    gc.collect()
    return Counter(type(thing).__name__ for thing in gc.get_objects())


def measure_in_process(args: argparse.Namespace, database_url: str, scratch: str) -> dict[str, Any]:
    upgrade(database_url)
    values = {name.lower(): value for name, value in lifted(args.streams).items()}
    settings = Settings(database_url=database_url, data_dir=Path(scratch), **values)  # type: ignore[arg-type]
    token = asyncio.run(owner_token(settings))
    figures: dict[str, Any] = {"rss_open_mb": [], "rss_closed_mb": [], "streams_open_after": []}
    figures.update(subscribers_after=[], open_errors=0)
    with serving_here(settings) as port:
        time.sleep(args.settle)
        before, blocks = census(), sys.getallocatedblocks()
        figures["rss_start_mb"] = round(memory_mb(os.getpid(), "VmRSS"), 1)
        for _ in range(args.rounds):
            failed, rss_open = asyncio.run(one_round(port, token, args.streams, os.getpid()))
            figures["open_errors"] += failed
            figures["rss_open_mb"].append(rss_open)
            held = let_go(port)
            figures["streams_open_after"].append(held["upwatch_event_streams_open"])
            figures["subscribers_after"].append(held["upwatch_event_subscribers"])
            figures["rss_closed_mb"].append(round(memory_mb(os.getpid(), "VmRSS"), 1))
        figures["grown_types"] = dict((census() - before).most_common(8))
        figures["blocks_delta"] = sys.getallocatedblocks() - blocks
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        figures["rss_trimmed_mb"] = round(memory_mb(os.getpid(), "VmRSS"), 1)
    backend = "postgresql" if database_url.startswith("postgres") else "sqlite"
    return {"backend": backend, "streams": args.streams, "rounds": args.rounds, **figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=2000, help="streams opened per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--settle", type=float, default=3.0, help="seconds after ready")
    parser.add_argument("--in-process", action="store_true", help="serve from this process")
    parser.add_argument("--database-url", help="a PostgreSQL server (default: SQLite)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    with ExitStack() as stack:
        url = stack.enter_context(fresh_database(args.database_url, "upwatch_bench_streams"))
        scratch = stack.enter_context(tempfile.TemporaryDirectory())
        result = (measure_in_process if args.in_process else measure)(args, url, scratch)
    print(
        f"{'in-process: ' if args.in_process else ''}"
        f"{result['streams']} streams x {result['rounds']} rounds on {result['backend']}: RSS "
        f"{result['rss_start_mb']} MB at start; open {result['rss_open_mb']}; after closing "
        f"{result['rss_closed_mb']}; still held after "
        f"each round: streams {result['streams_open_after']}, subscribers "
        f"{result['subscribers_after']}; {result['open_errors']} failed to open"
        + (
            f"; pymalloc blocks {result['blocks_delta']:+}, after malloc_trim "
            f"{result['rss_trimmed_mb']} MB"
            if args.in_process
            else ""
        )
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
