"""Heartbeat ping ingest through the real HTTP server: pings per second, latency, and proof
that every acknowledged ping was stored.

Starts `upwatch serve` (uvicorn, uvloop, httptools; default settings but the per-IP ping
limit) on a fresh database, creates N heartbeats over the API, then drives
`GET /ping/<uuid>` with C connections for D seconds: with `wrk` when it is installed (Debian:
`apt-get install wrk`), else with a built-in aiohttp load generator. Finally counts the
stored pings.

    python bench/pings.py --heartbeats 100 --duration 10 --connections 64
    python bench/pings.py --database-url postgresql://root@127.0.0.1:5432/test

Prints a summary, then one JSON line with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import asyncpg
import httpx
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/scratch.py

from scratch import add_sqlite_synchronous, backend, fresh_database, sqlite_synchronous_env

READY_SECONDS = 60
TOKEN = re.compile(r"uw_[A-Za-z0-9_-]{43}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    args: argparse.Namespace, database_url: str, data_dir: str, port: int
) -> tuple[subprocess.Popen[str], str]:
    processes = args.processes
    env = {
        # A shell's own UPWATCH_* (a Redis URL, another database) must not reach the server.
        **{name: value for name, value in os.environ.items() if not name.startswith("UPWATCH_")},
        "UPWATCH_DATABASE_URL": database_url,
        "UPWATCH_DATA_DIR": data_dir,
        "UPWATCH_PORT": str(port),
        "UPWATCH_PING_RATE_LIMIT_PER_MINUTE": "1000000000",  # one client IP sends everything
        "UPWATCH_RATE_LIMIT_PER_MINUTE": "1000000000",
        **sqlite_synchronous_env(args),
    }
    log = Path(data_dir) / "serve.log"
    several = ["--workers", str(processes), "--no-checks"] if processes > 1 else []
    server = subprocess.Popen(  # noqa: S603 - our own command
        [sys.executable, "-m", "upwatch", "serve", *several],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        text=True,
    )
    give_up = time.monotonic() + READY_SECONDS
    while time.monotonic() < give_up:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=1).status_code == 200:
                found = TOKEN.search(log.read_text())
                if found:
                    return server, found.group(0)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.kill()
    raise SystemExit(f"upwatch serve did not become ready; see {log}")


def create_heartbeats(base_url: str, token: str, count: int) -> list[str]:
    paths = []
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}) as http:
        for number in range(count):
            created = http.post("/api/v1/heartbeats", json={"name": f"job {number}"})
            created.raise_for_status()
            paths.append("/ping/" + created.json()["ping_url"].rsplit("/ping/", 1)[1])
    return paths


async def aiohttp_load(
    base_url: str, paths: list[str], connections: int, duration: float
) -> tuple[int, int, list[float]]:
    """(acknowledged, errors, latencies in ms) from `connections` concurrent loops."""
    latencies: list[float] = []
    counts = {"ok": 0, "errors": 0}
    stop_at = time.monotonic() + duration
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(base_url, connector=connector) as session:

        async def worker() -> None:
            while time.monotonic() < stop_at:
                began = time.perf_counter()
                try:
                    async with session.get(random.choice(paths)) as response:  # noqa: S311
                        await response.read()
                        ok = response.status == 200
                except aiohttp.ClientError:
                    ok = False
                latencies.append((time.perf_counter() - began) * 1000)
                counts["ok" if ok else "errors"] += 1

        await asyncio.gather(*(worker() for _ in range(connections)))
    return counts["ok"], counts["errors"], latencies


WRK_SCRIPT = """
local paths = {%s}
request = function() return wrk.format("GET", paths[math.random(#paths)]) end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d %%d %%.3f %%.3f\\n", summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout, 0,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


def wrk_load(
    base_url: str, paths: list[str], connections: int, duration: float, scratch: str
) -> tuple[int, int, float, float]:
    """(acknowledged, errors, p50 ms, p99 ms) from wrk with 2 threads."""
    script = Path(scratch) / "pings.lua"
    script.write_text(WRK_SCRIPT % ", ".join(f'"{path}"' for path in paths))
    finished = subprocess.run(  # noqa: S603
        ["wrk", "-t2", f"-c{connections}", f"-d{int(duration)}s", "-s", str(script), base_url],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(line for line in finished.stdout.splitlines() if line.startswith("RESULT"))
    total, errors, _, p50, p99 = line.split()[1:]
    return int(total) - int(errors), int(errors), float(p50), float(p99)


def stored_pings(database_url: str) -> int:
    if backend(database_url) == "postgresql":
        return asyncio.run(_count_postgres(database_url))
    with sqlite3.connect(make_url(database_url).database or "") as connection:
        return int(connection.execute("SELECT count(*) FROM heartbeat_pings").fetchone()[0])


async def _count_postgres(database_url: str) -> int:
    connection = await asyncpg.connect(database_url)
    try:
        return int(await connection.fetchval("SELECT count(*) FROM heartbeat_pings"))
    finally:
        await connection.close()


def server_cpu_seconds(pid: int) -> float:
    """CPU of the server and of its processes (`--processes`), if any."""
    children = [
        int(child)
        for task in Path(f"/proc/{pid}/task").iterdir()
        for child in (task / "children").read_text().split()
    ]
    return sum(cpu_seconds(each) for each in [pid, *children])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run(args: argparse.Namespace, database_url: str, scratch: str) -> dict[str, object]:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    server, token = start_server(args, database_url, scratch, port)
    try:
        paths = create_heartbeats(base_url, token, args.heartbeats)
        before = stored_pings(database_url)
        cpu_before, began = server_cpu_seconds(server.pid), time.monotonic()
        use_wrk = shutil.which("wrk") is not None and not args.no_wrk
        if use_wrk:
            acknowledged, errors, p50, p99 = wrk_load(
                base_url, paths, args.connections, args.duration, scratch
            )
        else:
            acknowledged, errors, latencies = asyncio.run(
                aiohttp_load(base_url, paths, args.connections, args.duration)
            )
            p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
        elapsed = time.monotonic() - began
        cpu = (server_cpu_seconds(server.pid) - cpu_before) / elapsed * 100
    finally:
        server.terminate()
        server.wait(timeout=30)
    stored = stored_pings(database_url) - before
    return {
        "backend": backend(database_url),
        "load_generator": "wrk" if use_wrk else "aiohttp",
        "processes": args.processes,
        "heartbeats": args.heartbeats,
        "connections": args.connections,
        "duration_seconds": round(elapsed, 2),
        "pings_per_second": round(acknowledged / elapsed, 1),
        "latency_p50_ms": round(p50, 2),
        "latency_p99_ms": round(p99, 2),
        "errors": errors,
        "acknowledged": acknowledged,
        "stored": stored,
        "server_cpu_percent": round(cpu, 1),
        "sqlite_synchronous": args.sqlite_synchronous,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--heartbeats", type=int, default=100)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--no-wrk", action="store_true", help="use the aiohttp generator")
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="API processes: upwatch serve --workers N --no-checks (PostgreSQL)",
    )
    parser.add_argument(
        "--database-url", help="a PostgreSQL server to make a scratch database on (default: SQLite)"
    )
    add_sqlite_synchronous(parser)
    args = parser.parse_args()
    if args.processes > 1 and backend(args.database_url) != "postgresql":
        parser.error("--processes needs --database-url: several API processes run on PostgreSQL")
    with (
        fresh_database(args.database_url, "upwatch_bench_pings") as url,
        tempfile.TemporaryDirectory() as scratch,
    ):
        figures = run(args, url, scratch)
    print(
        f"{figures['pings_per_second']} pings/s on {figures['backend']} "
        f"({figures['connections']} connections, {figures['load_generator']}): p50 "
        f"{figures['latency_p50_ms']} ms, p99 {figures['latency_p99_ms']} ms, "
        f"{figures['errors']} errors; {figures['acknowledged']} acknowledged, "
        f"{figures['stored']} stored; server CPU {figures['server_cpu_percent']} %"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
