"""How late are missed heartbeat deadlines declared, with many heartbeats armed?

Seeds N heartbeats (bulk rows, as the product stores them) whose deadlines are an hour away,
plus `--due` of them whose deadlines fall during the run, spread over `--spread` seconds.
Then runs the real DeadlineWatcher (engine/heartbeats/deadlines.py) on the real database and
measures, for each due heartbeat, when its miss was committed and published minus its
deadline.

    python bench/deadlines.py --heartbeats 100000 --due 1000 --spread 10
    python bench/deadlines.py --database-url postgresql://root@127.0.0.1:5432/test

Prints a summary, then one JSON line with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import sys
import time
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/scratch.py

from scratch import backend, fresh_database
from sqlalchemy import insert, select, text, update

from upwatch.core.clock import SystemClock
from upwatch.core.waiting import wait_for_event
from upwatch.db.engine import Database
from upwatch.db.migrate import upgrade
from upwatch.db.unit_of_work import unit_of_work
from upwatch.engine.heartbeats.deadlines import DeadlineWatcher
from upwatch.events import Event, MemoryEventBus
from upwatch.logs import configure_logging
from upwatch.models import Heartbeat, HeartbeatState, Organization
from upwatch.settings import Settings

CHUNK = 5000
LOAD_MARGIN_SECONDS = 5.0  # the first due deadline comes after the watcher has loaded


class TimedBus(MemoryEventBus):
    """The real in-memory bus, noting when each miss was published (after its commit)."""

    def __init__(self, expected: int) -> None:
        super().__init__()
        self.missed_at: dict[str, float] = {}
        self.expected = expected
        self.all_missed = asyncio.Event()

    async def publish(self, events: Collection[Event]) -> None:
        now = time.time()
        for event in events:
            if event.type == "heartbeat.missed":
                deadline = datetime.fromisoformat(event.data["deadline_at"].replace("Z", "+00:00"))
                self.missed_at[event.data["heartbeat_id"]] = now - deadline.timestamp()
        if len(self.missed_at) >= self.expected:
            self.all_missed.set()
        await super().publish(events)


async def seed(database: Database, total: int) -> list[int]:
    """N heartbeats, up, their deadlines an hour away; returns their ids."""
    now = datetime.now(UTC)
    async with unit_of_work(database) as session:
        org = Organization(name="bench", created_at=now)
        session.add(org)
        await session.flush()
        organization_id = org.id
    far = now + timedelta(hours=1)
    seeded: list[int] = []
    for offset in range(0, total, CHUNK):
        count = min(CHUNK, total - offset)
        async with unit_of_work(database) as session:
            result = await session.execute(
                insert(Heartbeat).returning(Heartbeat.id, sort_by_parameter_order=True),
                [
                    {
                        "organization_id": organization_id,
                        "name": f"job {offset + i}",
                        "period_seconds": 3600,
                        "timezone": "UTC",
                        "grace_seconds": 60,
                        "is_active": True,
                        "ping_token_hash": secrets.token_hex(32),
                        "ping_token_sealed": b"-",
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i in range(count)
                ],
            )
            ids = list(result.scalars())
            states = [
                {
                    "heartbeat_id": heartbeat_id,
                    "status": "up",
                    "deadline_at": far,
                    "last_ping_at": now,
                    "pings": 1,
                    "open_runs": [],
                }
                for heartbeat_id in ids
            ]
            await session.execute(insert(HeartbeatState), states)
            seeded.extend(ids)
    return seeded


async def make_due(database: Database, ids: list[int], spread: float) -> datetime:
    """Move these heartbeats' deadlines into the run, evenly over `spread` seconds after a
    margin for the watcher to load; returns the first deadline."""
    start = datetime.now(UTC) + timedelta(seconds=LOAD_MARGIN_SECONDS)
    async with unit_of_work(database) as session:
        await session.execute(
            update(HeartbeatState),
            [
                {
                    "heartbeat_id": heartbeat_id,
                    "deadline_at": start + timedelta(seconds=spread * index / len(ids)),
                }
                for index, heartbeat_id in enumerate(ids)
            ],
        )
    return start


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def run(args: argparse.Namespace, database_url: str) -> dict[str, object]:
    database = Database(database_url)
    seeding = time.perf_counter()
    ids = await seed(database, args.heartbeats)
    seed_seconds = time.perf_counter() - seeding
    start = await make_due(database, ids[: args.due], args.spread)
    bus = TimedBus(args.due)
    watcher = DeadlineWatcher(database, bus, SystemClock())
    loading = time.perf_counter()
    watcher.start()
    await watcher.loaded.wait()
    load_seconds = time.perf_counter() - loading
    finish = start + timedelta(seconds=args.spread + 5)
    await wait_for_event(bus.all_missed, (finish - datetime.now(UTC)).total_seconds())
    await watcher.stop()
    async with database.session() as session:
        down = (
            await session.execute(
                select(text("count(*)"))
                .select_from(HeartbeatState)
                .where(HeartbeatState.status == "down")
            )
        ).scalar_one()
    await database.dispose()
    lateness = [seconds * 1000 for seconds in bus.missed_at.values()]
    return {
        "heartbeats": args.heartbeats,
        "due": args.due,
        "spread_seconds": args.spread,
        "backend": backend(database_url),
        "seed_seconds": round(seed_seconds, 2),
        "load_seconds": round(load_seconds, 2),
        "detected": len(bus.missed_at),
        "stored_down": int(down),
        "lateness_p50_ms": round(statistics.median(lateness), 1) if lateness else None,
        "lateness_p99_ms": round(percentile(lateness, 0.99), 1) if lateness else None,
        "lateness_max_ms": round(max(lateness), 1) if lateness else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--heartbeats", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=1000, help="deadlines falling during the run")
    parser.add_argument("--spread", type=float, default=10.0, help="seconds the due ones span")
    parser.add_argument(
        "--database-url", help="a PostgreSQL server to make a scratch database on (default: SQLite)"
    )
    args = parser.parse_args()
    args.due = min(args.due, args.heartbeats)
    configure_logging(Settings(log_level="warning"))
    with fresh_database(args.database_url, "upwatch_bench_deadlines") as url:
        upgrade(url)
        figures = asyncio.run(run(args, url))
    print(
        f"{figures['heartbeats']} heartbeats on {figures['backend']}: seeded in "
        f"{figures['seed_seconds']} s, watcher loaded in {figures['load_seconds']} s; "
        f"{figures['detected']}/{figures['due']} misses declared "
        f"({figures['stored_down']} stored down), lateness p50 {figures['lateness_p50_ms']} ms, "
        f"p99 {figures['lateness_p99_ms']} ms, max {figures['lateness_max_ms']} ms"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
