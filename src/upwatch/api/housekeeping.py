"""Periodic clean-up of rows that only matter for a while (idempotency keys, sessions, old
results), then fresh planner statistics on SQLite."""

from __future__ import annotations

import asyncio

from upwatch.accounts import repository
from upwatch.api.state import AppState
from upwatch.db.unit_of_work import unit_of_work
from upwatch.engine.retention import purge_old_results
from upwatch.idempotency import store
from upwatch.logs import get_logger

PURGE_INTERVAL_SECONDS = 3600
log = get_logger("upwatch.housekeeping")


async def purge_expired(state: AppState) -> None:
    now = state.clock.now()
    async with state.database.write_session() as session:
        purged = await store.purge_expired(session, now)
    async with unit_of_work(state.database) as session:
        await repository.purge_expired(session, now)
    results = await purge_old_results(state.database, state.settings, now)
    await state.database.refresh_planner_statistics()
    # Logged last: the round is over (bench/api.py waits for this line before measuring).
    log.info("housekeeping.purged", idempotency_keys=purged, results_pings_runs=results)


async def purge_expired_periodically(state: AppState) -> None:
    while True:
        try:
            await purge_expired(state)
        except Exception as exc:  # keep the loop alive; the next round tries again
            log.warning("housekeeping.failed", error=repr(exc))
        await asyncio.sleep(PURGE_INTERVAL_SECONDS)
