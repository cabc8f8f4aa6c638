"""Storage per check, and the database after 30 days at 10,000 monitors every 60 s.

Writes H hours of checks of M http monitors (every 60 s; the synthetic observations of
`api.py`, 0.5 % failing) through the product's real write path (`engine.ingest.evaluate`
and the `ResultWriter`: result rows, live states, minute/hour/day rollups), one batch a minute as
the engine does, then measures each table with its indexes (SQLite: the `dbstat` table;
PostgreSQL: `pg_total_relation_size` after `VACUUM FULL`: live rows and indexes, without the
space of replaced row versions, which plain vacuuming leaves to be reused). From the
bytes per row it projects the database at steady state for a fleet (`--project-monitors`,
default 10,000, every 60 s) under the default retention: raw results and minute rollups for
`result_retention_days` (30), hour and day rollups for 30 of their `rollup_retention_days`.

Prints a summary and, last, one JSON line: `backend`, `monitors`, `hours`, `checks`,
`results_rows`, `rollups_rows`, `bytes_per_result`, `bytes_per_rollup`, `bytes_per_check`
(all tables, written by one check), `project_monitors`, `project_days`,
`projected_results_rows`, `projected_rollups_rows`, `projected_bytes`, `projected_gb`.

    python bench/storage.py [--monitors 200] [--hours 6] [--database-url postgresql://...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/scratch.py, bench/checks.py

from checks import seed, stop_on_sigterm
from scratch import backend, fresh_database
from sqlalchemy import func, select, text

from api import observation_pool
from upwatch.crypto import SecretBox
from upwatch.db.engine import Database
from upwatch.db.migrate import upgrade
from upwatch.engine.checks.snapshot import snapshot_of
from upwatch.engine.ingest.evaluate import MonitorLive, evaluate
from upwatch.engine.ingest.writer import ResultWriter
from upwatch.events import MemoryEventBus
from upwatch.logs import configure_logging
from upwatch.models import CheckResult, CheckRollup, Monitor, MonitorState
from upwatch.monitors.secrets import SecretStore
from upwatch.settings import Settings
from upwatch.subjects import SubjectKind, SubjectRef

INTERVAL = 60
TARGET_URL = "http://127.0.0.1:9/"  # never contacted: the checks are synthetic
TABLES = ("check_results", "check_rollups")


async def write_history(database_url: str, hours: int) -> int:
    """Every monitor's checks over `hours`, written a minute's batch at a time."""
    database = Database(database_url)
    writer = ResultWriter(database, MemoryEventBus())
    store = SecretStore(SecretBox("storage-benchmark-key-0123456789abcdef", "monitor-secrets"))
    rng = random.Random(7)  # noqa: S311 - synthetic data, not security
    pool = observation_pool(rng)  # api.py's: 0.5 % failing, latencies around 80 ms
    try:
        async with database.session() as session:
            rows = (
                await session.execute(
                    select(Monitor, MonitorState).join(
                        MonitorState, MonitorState.monitor_id == Monitor.id
                    )
                )
            ).all()
        fleet = [
            (snapshot_of(monitor, store), MonitorLive.from_state(state)) for monitor, state in rows
        ]
        start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=hours)
        checks = 0
        for minute in range(hours * 60):
            slot = start + timedelta(minutes=minute)
            for snapshot, live in fleet:
                seen = replace(
                    pool[checks % len(pool)],
                    subject=SubjectRef(SubjectKind.MONITOR, snapshot.id),
                    at=slot + timedelta(milliseconds=rng.uniform(0, 50)),
                )
                record = evaluate(
                    snapshot, live, seen, scheduled_at=slot,
                    next_run_at=slot + timedelta(seconds=INTERVAL),
                )  # fmt: skip
                writer.submit(record)
                checks += 1
            await writer.flush()
        return checks
    finally:
        await database.dispose()


async def measure(database_url: str) -> dict[str, Any]:
    """Rows and bytes (with indexes) of each table."""
    database = Database(database_url)
    try:
        if backend(database_url) == "postgresql":
            async with database.engine.connect() as connection:
                autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
                # FULL: without it, the space of the rows each upsert replaced (an hour or a
                # day rollup is rewritten every minute) counts too, though it is reused.
                await autocommit.execute(text("VACUUM (FULL, ANALYZE)"))
        async with database.session() as session:
            counts = {
                "check_results": await session.scalar(
                    select(func.count()).select_from(CheckResult)
                ),
                "check_rollups": await session.scalar(
                    select(func.count()).select_from(CheckRollup)
                ),
            }
            sizes = {table: await _table_bytes(session, table) for table in TABLES}
            total = await _all_bytes(session, database_url)
        return {"rows": counts, "bytes": sizes, "all_bytes": total}
    finally:
        await database.dispose()


async def _table_bytes(session: Any, table: str) -> int:
    if session.get_bind().dialect.name == "postgresql":
        found = await session.execute(text("SELECT pg_total_relation_size(:t)"), {"t": table})
        return int(found.scalar_one())
    found = await session.execute(
        text(
            "SELECT sum(pgsize) FROM dbstat WHERE name = :t OR name IN "
            "(SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :t)"
        ),
        {"t": table},
    )
    return int(found.scalar_one() or 0)


async def _all_bytes(session: Any, database_url: str) -> int:
    if backend(database_url) == "postgresql":
        # Our tables only: the system catalogs shrink and grow with VACUUM FULL itself (the
        # first one rewrites them and leaves the old catalog rows to the second), which
        # swamped the few kilobytes of a small run.
        found = await session.execute(
            text(
                "SELECT sum(pg_total_relation_size(oid)) FROM pg_class "
                "WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace"
            )
        )
    else:
        found = await session.execute(text("SELECT sum(pgsize) FROM dbstat"))
    return int(found.scalar_one() or 0)


def project(
    before: dict[str, Any], after: dict[str, Any], args: argparse.Namespace, checks: int
) -> dict[str, Any]:
    settings = Settings()
    results = after["rows"]["check_results"] - before["rows"]["check_results"]
    rollups = after["rows"]["check_rollups"] - before["rows"]["check_rollups"]
    per_result = (after["bytes"]["check_results"] - before["bytes"]["check_results"]) / results
    per_rollup = (after["bytes"]["check_rollups"] - before["bytes"]["check_rollups"]) / rollups
    per_check = (after["all_bytes"] - before["all_bytes"]) / checks
    days = settings.result_retention_days
    per_day = 86_400 // INTERVAL
    projected_results = args.project_monitors * per_day * days
    # Minute rollups live as long as raw results; hour and day rollups longer than 30 days.
    projected_rollups = args.project_monitors * (per_day * days + 24 * days + days)
    projected = projected_results * per_result + projected_rollups * per_rollup
    return {
        "results_rows": results,
        "rollups_rows": rollups,
        "bytes_per_result": round(per_result, 1),
        "bytes_per_rollup": round(per_rollup, 1),
        "bytes_per_check": round(per_check, 1),
        "project_monitors": args.project_monitors,
        "project_days": days,
        "projected_results_rows": projected_results,
        "projected_rollups_rows": projected_rollups,
        "projected_bytes": round(projected),
        "projected_gb": round(projected / 1e9, 1),
    }


async def run(args: argparse.Namespace, database_url: str) -> dict[str, Any]:
    await seed(database_url, TARGET_URL, args.monitors, INTERVAL)
    before = await measure(database_url)
    checks = await write_history(database_url, args.hours)
    after = await measure(database_url)
    return {
        "backend": backend(database_url),
        "monitors": args.monitors,
        "hours": args.hours,
        "checks": checks,
        **project(before, after, args, checks),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--monitors", type=int, default=200)
    parser.add_argument("--hours", type=int, default=6, help="hours of checks written")
    parser.add_argument("--project-monitors", type=int, default=10_000)
    parser.add_argument("--database-url", help="a PostgreSQL server (default: SQLite)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    configure_logging(Settings(log_level="warning"))
    with fresh_database(args.database_url, "upwatch_bench_storage") as url:
        upgrade(url)
        result = asyncio.run(run(args, url))
    print(
        f"{result['checks']} checks of {result['monitors']} monitors on {result['backend']}: "
        f"{result['bytes_per_result']} bytes per result row, {result['bytes_per_rollup']} per "
        f"rollup row, {result['bytes_per_check']} per check in all. At "
        f"{result['project_monitors']} monitors every {INTERVAL} s, after "
        f"{result['project_days']} days: {result['projected_results_rows']:,} results and "
        f"{result['projected_rollups_rows']:,} rollups, about {result['projected_gb']} GB"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
