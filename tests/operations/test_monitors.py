"""A monitor changed through its operation reaches the engine only once it is committed: this
process's engine after the commit, worker processes (PostgreSQL) through the notification
queued in the change's own transaction. A rolled-back change reaches neither."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.engine import RULES, SYSTEM, World, eventually
from upwatch.core.clock import SystemClock
from upwatch.db.unit_of_work import Outlets, open_unit_of_work
from upwatch.engine.changes import ChangeListener
from upwatch.engine.engine import Engine
from upwatch.monitors.schemas import MonitorCreate
from upwatch.notify import subscriptions
from upwatch.operations import monitors
from upwatch.operations.monitors import Monitoring

UNREACHABLE = "http://127.0.0.1:9/"  # nothing here is ever checked: no engine is started


def monitor(name: str) -> MonitorCreate:
    return MonitorCreate(name=name, kind="http", target=UNREACHABLE, interval_seconds=60)


async def create(world: World, engine: Engine, name: str, *, fail: bool = False) -> int:
    outlets = Outlets(stage=subscriptions.enqueue, bus=world.bus)
    ctx = Monitoring(world.store, RULES, engine, SystemClock())
    async with open_unit_of_work(world.database, outlets) as work:
        made = await monitors.create(work, ctx, SYSTEM, world.organization_id, monitor(name))
        if fail:
            raise RuntimeError("the request failed after the monitor was made")
    return made.id


async def test_a_created_monitor_reaches_the_engine_after_the_commit_and_a_rolled_back_one_never(
    world: World,
) -> None:
    engine = world.engine()
    with pytest.raises(RuntimeError, match="after the monitor was made"):
        await create(world, engine, "rolled back", fail=True)
    assert engine.scheduler.monitor_ids() == set()

    kept = await create(world, engine, "kept")
    assert engine.scheduler.monitor_ids() == {kept}


async def test_worker_processes_hear_of_a_committed_change_and_never_of_a_rolled_back_one(
    world: World,
) -> None:
    if world.database.engine.dialect.name != "postgresql":
        pytest.skip("worker processes hear of changes through PostgreSQL's NOTIFY; SQLite has none")
    heard: list[int] = []
    arrived = asyncio.Event()

    async def on_change(ids: list[int]) -> None:
        heard.extend(ids)
        arrived.set()

    async def on_reconnect() -> None:
        pass

    listener = ChangeListener(world.database.url, on_change, on_reconnect)
    listener.start()
    try:
        await eventually(listener.listening.wait)
        engine = world.engine()
        with pytest.raises(RuntimeError):
            await create(world, engine, "rolled back", fail=True)
        kept = await create(world, engine, "kept")
        await eventually(arrived.wait)
        # Notifications arrive in commit order: the rolled-back one would have come first.
        assert heard == [kept]
    finally:
        await listener.stop()
