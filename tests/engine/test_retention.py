"""Retention keeps the database bounded: raw results, heartbeat pings and runs older than
`result_retention_days` go, newer ones and state changes stay (on each backend)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert, select, text

from tests.support.engine import SYSTEM, World
from upwatch.crypto import SecretBox
from upwatch.db.unit_of_work import unit_of_work
from upwatch.engine import retention
from upwatch.engine.ingest.rollups import DAY, HOUR, MINUTE
from upwatch.engine.retention import purge_old_results
from upwatch.heartbeats import service
from upwatch.heartbeats.credentials import PingCredentials
from upwatch.heartbeats.schemas import HeartbeatCreate
from upwatch.models import CheckResult, CheckRollup, HeartbeatPing, HeartbeatRun, StateChange

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CREDENTIALS = PingCredentials(SecretBox("retention-tests-instance-key-0123456789", "pings"))


async def _count(world: World, model: type) -> int:
    async with world.database.session() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_rows_past_retention_are_deleted_and_recent_ones_and_state_changes_kept(
    world: World,
) -> None:
    monitor = await world.monitor("http://127.0.0.1:9/")
    old, recent = NOW - timedelta(days=31), NOW - timedelta(days=29)
    async with unit_of_work(world.database) as session:
        heartbeat = await service.create(
            session,
            SYSTEM,
            CREDENTIALS,
            organization_id=world.organization_id,
            data=HeartbeatCreate(name="nightly"),
            now=old,
        )
        await session.flush()
        for moment in (old, recent):
            await session.execute(
                insert(CheckResult),
                [{"monitor_id": monitor.id, "scheduled_at": moment, "checked_at": moment,
                  "ok": True, "status": "up", "latency_ms": 1.0}],
            )  # fmt: skip
            await session.execute(
                insert(HeartbeatPing),
                [{"heartbeat_id": heartbeat.id, "received_at": moment, "kind": "success",
                  "method": "GET"}],
            )  # fmt: skip
            await session.execute(
                insert(HeartbeatRun),
                [{"heartbeat_id": heartbeat.id, "opened_at": moment, "ended_at": moment,
                  "outcome": "success"}],
            )  # fmt: skip
            session.add(
                StateChange(heartbeat_id=heartbeat.id, from_status="pending", to_status="up",
                            reason="success ping", created_at=moment)
            )  # fmt: skip

    deleted = await purge_old_results(world.database, world.settings, NOW)

    assert deleted == 3  # one old result, one old ping, one old run
    for model in (CheckResult, HeartbeatPing, HeartbeatRun):
        assert await _count(world, model) == 1, model.__name__
    assert await _count(world, StateChange) == 2
    async with world.database.session() as session:
        kept = (await session.execute(select(HeartbeatPing.received_at))).scalar_one()
    assert kept == recent


async def test_housekeeping_gives_sqlites_planner_statistics_of_the_monitors(
    world: World,
) -> None:
    for n in range(3):
        await world.monitor(f"http://127.0.0.1:9/planner-{n}")

    await world.database.refresh_planner_statistics()

    async with world.database.session() as session:
        if world.database.backend == "sqlite":
            query = text("SELECT idx, stat FROM sqlite_stat1 WHERE tbl = 'monitors'")
            stats = dict((await session.execute(query)).all())
            assert stats
            assert all(stat.split()[0] == "3" for stat in stats.values())  # 3 rows counted
        else:  # PostgreSQL keeps its own statistics (autovacuum): no manual ANALYZE
            query = text("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'monitors'")
            assert (await session.execute(query)).scalar_one() is None


async def _results(world: World, monitor_id: int, moments: list[datetime]) -> None:
    """Result rows written in this order (so with ids in this order)."""
    async with unit_of_work(world.database) as session:
        for moment in moments:
            await session.execute(
                insert(CheckResult),
                [{"monitor_id": monitor_id, "scheduled_at": moment, "checked_at": moment,
                  "ok": True, "status": "up", "latency_ms": 1.0}],
            )  # fmt: skip


async def _checked_at(world: World) -> list[datetime]:
    async with world.database.session() as session:
        found = await session.execute(select(CheckResult.checked_at).order_by(CheckResult.id))
        return list(found.scalars())


async def test_old_results_go_in_rounds_of_the_oldest_ids_even_past_a_row_out_of_order(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "BATCH", 2)  # several rounds for a handful of rows
    monitor = await world.monitor("http://127.0.0.1:9/")
    old = [NOW - timedelta(days=40, minutes=n) for n in range(5)]
    recent = [NOW - timedelta(days=1, minutes=n) for n in range(3)]
    # A recent row first, with the lowest id (written out of time order), then the old ones.
    await _results(world, monitor.id, [recent[0], *old, *recent[1:]])

    deleted = await purge_old_results(world.database, world.settings, NOW)

    assert deleted == 5
    assert await _checked_at(world) == recent


def _rollup(monitor_id: int, resolution: int, moment: datetime) -> dict[str, Any]:
    return {"monitor_id": monitor_id, "resolution": resolution, "bucket_start": moment,
            "checks": 1, "failures": 0, "maintenance_checks": 0, "latency_count": 1,
            "latency_sum_ms": 1.0, "latency_min_ms": 1.0, "latency_max_ms": 1.0,
            "histogram": {"72": 1}}  # fmt: skip


async def test_rollups_past_retention_are_deleted_for_every_monitor_and_the_rest_kept(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "MONITORS_PER_BATCH", 2)  # 5 monitors: three batches
    monitors = [await world.monitor(f"http://127.0.0.1:9/{n}") for n in range(5)]
    days = world.settings.result_retention_days
    rollup_days = world.settings.rollup_retention_days
    minute_old, minute_kept = NOW - timedelta(days=days + 1), NOW - timedelta(days=days - 1)
    long_old = NOW - timedelta(days=rollup_days + 1)
    long_kept = NOW - timedelta(days=days + 1)  # past the raw retention, within the rollups'
    async with unit_of_work(world.database) as session:
        for monitor in monitors:
            await session.execute(
                insert(CheckRollup),
                [
                    _rollup(monitor.id, MINUTE, minute_old),
                    _rollup(monitor.id, MINUTE, minute_kept),
                    *(_rollup(monitor.id, resolution, moment)
                      for resolution in (HOUR, DAY) for moment in (long_old, long_kept)),
                ],
            )  # fmt: skip

    await purge_old_results(world.database, world.settings, NOW)

    async with world.database.session() as session:
        kept = await session.execute(
            select(CheckRollup.monitor_id, CheckRollup.resolution, CheckRollup.bucket_start)
        )
        left = {(monitor_id, resolution, moment) for monitor_id, resolution, moment in kept}
    assert left == {
        (monitor.id, resolution, moment)
        for monitor in monitors
        for resolution, moment in ((MINUTE, minute_kept), (HOUR, long_kept), (DAY, long_kept))
    }
