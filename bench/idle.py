"""Idle footprint: `upwatch serve` with no monitors, no heartbeats and no requests.

Starts `upwatch serve` (defaults: checks, deadline watcher, dispatcher and housekeeping all
on) on a fresh database, waits until it is ready and has settled, then reads its CPU time
and memory over the measured window. Prints a summary and, last, one JSON line:
`backend`, `settle_seconds`, `duration_seconds`, `cpu_percent` (100 = one core),
`rss_mb` (at the end), `peak_rss_mb`, `ready_seconds`, `stopped_gracefully`,
`server_log_problems`.

    python bench/idle.py [--duration 60] [--database-url postgresql://...]
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/scratch.py, bench/checks.py

from checks import (
    base_server_env,
    cpu_seconds,
    free_port,
    log_problems,
    memory_mb,
    running_server,
    stop_on_sigterm,
    stop_server,
    wait_ready,
)
from scratch import backend, fresh_database

from upwatch.db.migrate import upgrade


def measure(args: argparse.Namespace, database_url: str, scratch: str) -> dict[str, Any]:
    upgrade(database_url)
    port, log = free_port(), Path(scratch) / "serve.log"
    env = {**base_server_env(database_url, scratch, port), "UPWATCH_LOG_LEVEL": "warning"}
    began = time.monotonic()
    with running_server(env, log) as server:
        wait_ready(server, port, log)
        ready_seconds = time.monotonic() - began
        time.sleep(args.settle)  # start-up work (first housekeeping pass) is not idling
        cpu_before, at_before = cpu_seconds(server.pid), time.monotonic()
        time.sleep(args.duration)
        cpu = (cpu_seconds(server.pid) - cpu_before) / (time.monotonic() - at_before) * 100
        rss, peak = memory_mb(server.pid, "VmRSS"), memory_mb(server.pid, "VmHWM")
        graceful = stop_server(server)
    return {
        "backend": backend(database_url),
        "settle_seconds": args.settle,
        "duration_seconds": args.duration,
        "cpu_percent": round(cpu, 2),
        "rss_mb": round(rss, 1),
        "peak_rss_mb": round(peak, 1),
        "ready_seconds": round(ready_seconds, 2),
        "stopped_gracefully": graceful,
        "server_log_problems": log_problems(log),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="measured seconds")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds after ready")
    parser.add_argument("--database-url", help="a PostgreSQL server (default: SQLite)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    with ExitStack() as stack:
        url = stack.enter_context(fresh_database(args.database_url, "upwatch_bench_idle"))
        scratch = stack.enter_context(tempfile.TemporaryDirectory())
        result = measure(args, url, scratch)
    print(
        f"idle upwatch serve on {result['backend']}: CPU {result['cpu_percent']} % over "
        f"{result['duration_seconds']:g} s, RSS {result['rss_mb']} MB (peak "
        f"{result['peak_rss_mb']} MB), ready in {result['ready_seconds']} s"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
