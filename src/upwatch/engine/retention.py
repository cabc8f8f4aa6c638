"""Keeping the database bounded: raw results for `result_retention_days`, minute rollups as
long (they repeat raw results at 60 s intervals), hour and day rollups for
`rollup_retention_days`. Deletes go in batches, so no transaction locks the tables long."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select

from upwatch.db.engine import Database
from upwatch.db.unit_of_work import unit_of_work
from upwatch.engine.rollups import MINUTE
from upwatch.models import CheckResult, CheckRollup
from upwatch.settings import Settings

BATCH = 5000


async def purge_old_results(database: Database, settings: Settings, now: datetime) -> int:
    """Delete what is past retention; returns the number of raw results deleted."""
    results_cutoff = now - timedelta(days=settings.result_retention_days)
    rollups_cutoff = now - timedelta(days=settings.rollup_retention_days)
    deleted = 0
    while True:
        async with unit_of_work(database) as session:
            batch = select(CheckResult.id).where(CheckResult.checked_at < results_cutoff)
            result = await session.execute(
                delete(CheckResult).where(CheckResult.id.in_(batch.limit(BATCH).scalar_subquery()))
            )
        count = int(result.rowcount or 0)  # type: ignore[attr-defined]
        deleted += count
        if count < BATCH:
            break
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
