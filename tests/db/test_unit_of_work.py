"""The change path's unit of work on a real database of each backend: a committed change
reaches the webhook subscriptions (an outbox row), the event bus (a subscriber sees it) and
its after-commit actions; a rolled-back change reaches none of them; an after-commit action
that fails undoes nothing and stops nothing else."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from structlog.testing import capture_logs

from tests.support.engine import SYSTEM, World, received
from upwatch.db.unit_of_work import Outlets, UnitOfWork, open_unit_of_work
from upwatch.events.bus import Filter, Subscription
from upwatch.incidents import service as incidents
from upwatch.incidents.schemas import IncidentCreate
from upwatch.models import Incident, Notification, Webhook
from upwatch.notify import subscriptions


class EngineStandIn:
    """What an after-commit action reached: the real engine is behind it in production, and
    `tests/operations` drives that one."""

    def __init__(self) -> None:
        self.told: list[str] = []

    async def refresh(self) -> None:
        self.told.append("refreshed")


def outlets(world: World) -> Outlets:
    return Outlets(stage=subscriptions.enqueue, bus=world.bus)


async def subscribe_webhook(world: World) -> None:
    at = datetime.now(UTC)
    async with world.database.write_session() as session:
        session.add(
            Webhook(
                organization_id=world.organization_id, secret_url=b"sealed elsewhere",
                url_host="hooks.example.com", event_types=["*"], is_enabled=True,
                consecutive_failures=0, created_at=at, updated_at=at,
            )
        )  # fmt: skip
        await session.commit()


async def declare(work: UnitOfWork, world: World, title: str) -> None:
    await incidents.declare(
        work, SYSTEM, organization_id=world.organization_id,
        data=IncidentCreate(title=title), now=datetime.now(UTC),
    )  # fmt: skip


async def outbox(world: World) -> list[str | None]:
    async with world.database.session() as session:
        query = select(Notification.event_type).where(Notification.webhook_id.is_not(None))
        return list((await session.execute(query)).scalars())


async def incidents_stored(world: World) -> int:
    async with world.database.session() as session:
        return int((await session.execute(select(func.count()).select_from(Incident))).scalar_one())


@pytest.fixture
async def listener(world: World) -> Subscription:
    await subscribe_webhook(world)
    return world.bus.subscribe(Filter(world.organization_id))


async def test_a_committed_change_reaches_subscriptions_the_event_bus_and_the_engine(
    world: World, listener: Subscription
) -> None:
    engine = EngineStandIn()
    async with open_unit_of_work(world.database, outlets(world)) as work:
        await declare(work, world, "Checkout is slow")
        work.after_commit(engine.refresh)

    assert await incidents_stored(world) == 1
    assert await outbox(world) == ["incident.opened"]
    assert [event.type for event in await received(listener)] == ["incident.opened"]
    assert engine.told == ["refreshed"]


async def test_a_rolled_back_change_reaches_none_of_them(
    world: World, listener: Subscription
) -> None:
    engine = EngineStandIn()

    async def change_that_fails() -> None:
        async with open_unit_of_work(world.database, outlets(world)) as work:
            await declare(work, world, "Never happened")
            work.after_commit(engine.refresh)
            raise RuntimeError("the change failed half-way")

    with pytest.raises(RuntimeError, match="half-way"):
        await change_that_fails()

    assert await incidents_stored(world) == 0
    assert await outbox(world) == []
    assert await received(listener) == []
    assert engine.told == []


async def test_an_after_commit_action_that_fails_undoes_nothing_and_stops_nothing_else(
    world: World, listener: Subscription
) -> None:
    engine = EngineStandIn()

    async def broken() -> None:
        raise RuntimeError("the engine is away")

    with capture_logs() as logs:
        async with open_unit_of_work(world.database, outlets(world)) as work:
            await declare(work, world, "Still declared")
            work.after_commit(broken)
            work.after_commit(engine.refresh)

    assert await incidents_stored(world) == 1
    assert await outbox(world) == ["incident.opened"]
    assert [event.type for event in await received(listener)] == ["incident.opened"]
    assert engine.told == ["refreshed"]
    assert [entry["event"] for entry in logs] == ["unit_of_work.after_commit_failed"]
