"""A heartbeat resumed or paused through its operation: its status change reaches the
webhook subscriptions and the event bus, and its deadline is re-armed (or cleared) in the
engine's deadline watcher, all only once the change is committed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from tests.support.engine import SYSTEM, World, received
from upwatch.core.clock import SystemClock
from upwatch.crypto import SecretBox
from upwatch.db.unit_of_work import Outlets, UnitOfWork, open_unit_of_work
from upwatch.events.bus import Filter
from upwatch.heartbeats import repository
from upwatch.heartbeats.credentials import PingCredentials
from upwatch.heartbeats.schemas import HeartbeatCreate
from upwatch.notify import subscriptions
from upwatch.operations import heartbeats
from upwatch.operations.heartbeats import Watching

Step = Callable[[UnitOfWork, Watching], Awaitable[object]]


CREDENTIALS = PingCredentials(SecretBox("operations-tests-instance-key-0123456789", "pings"))


async def change(world: World, ctx: Watching, step: Step, *, fail: bool = False) -> None:
    outlets = Outlets(stage=subscriptions.enqueue, bus=world.bus)
    async with open_unit_of_work(world.database, outlets) as work:
        await step(work, ctx)
        if fail:
            raise RuntimeError("the request failed after the change")


async def test_a_resume_is_announced_and_armed_after_the_commit_and_a_rolled_back_pause_is_not(
    world: World,
) -> None:
    engine = world.engine()
    ctx = Watching(CREDENTIALS, engine, SystemClock())
    made: dict[str, int] = {}

    async def create(work: UnitOfWork, ctx: Watching) -> None:
        data = HeartbeatCreate(name="nightly backup", is_active=False)
        made["id"] = (await heartbeats.create(work, ctx, SYSTEM, world.organization_id, data)).id

    def set_active(active: bool) -> Step:
        async def step(work: UnitOfWork, ctx: Watching) -> None:
            row = await repository.by_id(work.session, made["id"])
            assert row is not None
            await heartbeats.set_active(work, ctx, SYSTEM, row, active)

        return step

    await change(world, ctx, create)
    listener = world.bus.subscribe(Filter(world.organization_id))
    assert len(engine.deadlines) == 0

    await change(world, ctx, set_active(True))
    assert len(engine.deadlines) == 1
    assert [event.type for event in await received(listener)] == ["heartbeat.status_changed"]

    with pytest.raises(RuntimeError, match="after the change"):
        await change(world, ctx, set_active(False), fail=True)
    assert len(engine.deadlines) == 1
    assert await received(listener) == []

    await change(world, ctx, set_active(False))
    assert len(engine.deadlines) == 0
    assert [event.type for event in await received(listener)] == ["heartbeat.status_changed"]
