"""Keeping the database bounded: raw results, heartbeat pings and runs for
`result_retention_days`, minute rollups as long (they repeat raw results at 60 s intervals),
hour and day rollups for `rollup_retention_days`. State changes stay: they are few and carry
the uptime history. Deletes go in batches, so no transaction locks the tables long."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from upwatch.db.engine import Database
from upwatch.db.unit_of_work import unit_of_work
from upwatch.engine.ingest.rollups import DAY, HOUR, MINUTE
from upwatch.models import CheckResult, CheckRollup, HeartbeatPing, HeartbeatRun, Monitor
from upwatch.settings import Settings

BATCH = 5000
MONITORS_PER_BATCH = 200  # an hour of their minute rollups: 12,000 rows a transaction


async def _purge_oldest(
    database: Database, model: Any, moment: Any, cutoff: datetime, batch: int
) -> int:
    """Delete rows of `model` whose `moment` is before `cutoff`, up to `batch` a round.

    Ids grow with time, so each round takes the `batch` rows of lowest id (a range of the
    primary key) and deletes those past the cutoff, until a round finds none: the rows left
    are all kept. No round reads more than `batch` rows, where a filter on the time column
    alone (it has no index of its own) would scan every row kept, every hour. A row kept
    among old ones (written out of time order) does not stop the rounds: they go on while
    they delete anything.
    """
    deleted = 0
    while True:
        async with unit_of_work(database) as session:
            oldest = select(model.id).order_by(model.id).limit(batch).scalar_subquery()
            result = await session.execute(
                delete(model).where(model.id.in_(oldest), moment < cutoff)
            )
        count = int(result.rowcount or 0)  # type: ignore[attr-defined]
        deleted += count
        if count == 0:
            return deleted


async def _purge_rollups(
    database: Database,
    minutes_cutoff: datetime,
    rollups_cutoff: datetime,
    monitors_per_batch: int,
) -> None:
    """Minute rollups before `minutes_cutoff`, hour and day rollups before `rollups_cutoff`,
    a few monitors a transaction: each delete is a range of the key (monitor, resolution,
    bucket start) per monitor, so the purge reads what it deletes and not the whole table
    (43,200 minute rows a monitor), and no transaction holds the write lock for long."""
    async with database.session() as session:
        ids = list((await session.execute(select(Monitor.id).order_by(Monitor.id))).scalars())
    for offset in range(0, len(ids), monitors_per_batch):
        chunk = ids[offset : offset + monitors_per_batch]
        async with unit_of_work(database) as session:
            for resolutions, cutoff in (((MINUTE,), minutes_cutoff), ((HOUR, DAY), rollups_cutoff)):
                await session.execute(
                    delete(CheckRollup).where(
                        CheckRollup.monitor_id.in_(chunk),
                        CheckRollup.resolution.in_(resolutions),
                        CheckRollup.bucket_start < cutoff,
                    )
                )


async def purge_old_results(database: Database, settings: Settings, now: datetime) -> int:
    """Delete what is past retention; returns the number of raw rows (results, pings, runs)
    deleted."""
    results_cutoff = now - timedelta(days=settings.result_retention_days)
    rollups_cutoff = now - timedelta(days=settings.rollup_retention_days)
    deleted = 0
    for model, moment in (
        (CheckResult, CheckResult.checked_at),
        (HeartbeatPing, HeartbeatPing.received_at),
        (HeartbeatRun, HeartbeatRun.opened_at),
    ):
        deleted += await _purge_oldest(database, model, moment, results_cutoff, BATCH)
    await _purge_rollups(database, results_cutoff, rollups_cutoff, MONITORS_PER_BATCH)
    return deleted
