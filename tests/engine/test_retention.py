"""Retention keeps the database bounded: raw results, heartbeat pings and runs older than
`result_retention_days` go, newer ones and state changes stay (on each backend)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select, text

from tests.support.engine import SYSTEM, World
from upwatch.crypto import SecretBox
from upwatch.db.unit_of_work import unit_of_work
from upwatch.engine.retention import purge_old_results
from upwatch.heartbeats import service
from upwatch.heartbeats.credentials import PingCredentials
from upwatch.heartbeats.schemas import HeartbeatCreate
from upwatch.models import CheckResult, HeartbeatPing, HeartbeatRun, StateChange

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
