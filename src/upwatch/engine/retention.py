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
from upwatch.engine.rollups import MINUTE
from upwatch.models import CheckResult, CheckRollup, HeartbeatPing, HeartbeatRun
from upwatch.settings import Settings

BATCH = 5000


async def _purge_rows(database: Database, model: Any, moment: Any, cutoff: datetime) -> int:
    """Delete rows of `model` whose `moment` is before `cutoff`, BATCH at a time."""
    deleted = 0
    while True:
        async with unit_of_work(database) as session:
            batch = select(model.id).where(moment < cutoff).limit(BATCH).scalar_subquery()
            result = await session.execute(delete(model).where(model.id.in_(batch)))
        count = int(result.rowcount or 0)  # type: ignore[attr-defined]
        deleted += count
        if count < BATCH:
            return deleted


async def purge_old_results(database: Database, settings: Settings, now: datetime) -> int:
    """Delete what is past retention; returns the number of raw rows (results, pings, runs)
    deleted."""
    results_cutoff = now - timedelta(days=settings.result_retention_days)
    rollups_cutoff = now - timedelta(days=settings.rollup_retention_days)
    deleted = await _purge_rows(database, CheckResult, CheckResult.checked_at, results_cutoff)
    deleted += await _purge_rows(database, HeartbeatPing, HeartbeatPing.received_at, results_cutoff)
    deleted += await _purge_rows(database, HeartbeatRun, HeartbeatRun.opened_at, results_cutoff)
    async with unit_of_work(database) as session:
        await session.execute(
            delete(CheckRollup).where(
                CheckRollup.resolution == MINUTE, CheckRollup.bucket_start < results_cutoff
            )
        )
        await session.execute(
            delete(CheckRollup).where(
                CheckRollup.resolution != MINUTE, CheckRollup.bucket_start < rollups_cutoff
            )
        )
    return deleted
