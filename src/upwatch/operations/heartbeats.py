"""Heartbeats, changed whole. The slice's service validates, writes and audits; an operation
also sets the heartbeat's channels, emits its status change, and after the commit re-arms
(or clears) its deadline in the engine's deadline watcher."""

from __future__ import annotations

from dataclasses import dataclass

from upwatch.audit.service import Actor
from upwatch.core.clock import Clock
from upwatch.db.unit_of_work import UnitOfWork
from upwatch.engine.engine import Engine
from upwatch.heartbeats import events, repository, service
from upwatch.heartbeats.credentials import PingCredentials
from upwatch.heartbeats.repository import HeartbeatRow
from upwatch.heartbeats.schemas import HeartbeatCreate, HeartbeatUpdate
from upwatch.heartbeats.service import Changed
from upwatch.models import Heartbeat
from upwatch.operations.links import apply_heartbeat_channels


@dataclass(frozen=True, slots=True)
class Watching:
    """What a heartbeat change needs besides its unit of work."""

    credentials: PingCredentials
    engine: Engine
    clock: Clock


def follow(work: UnitOfWork, engine: Engine, changed: Changed) -> None:
    """Emit the status change, if any; after the commit, re-arm the deadline as committed
    (read again: a ping may have moved it meanwhile)."""
    heartbeat, transition = changed.heartbeat, changed.transition
    heartbeat_id = heartbeat.id
    if transition is not None:
        work.emit(
            events.status_changed(
                heartbeat.organization_id, heartbeat.public_id, heartbeat.name, transition
            )
        )

    async def rearm() -> None:
        async with work.database.session() as reader:
            row = await repository.by_id(reader, heartbeat_id)
        engine.deadlines.arm(heartbeat_id, None if row is None else row.state.deadline_at)

    work.after_commit(rearm)


async def create(
    work: UnitOfWork, ctx: Watching, actor: Actor, organization_id: int, data: HeartbeatCreate
) -> Heartbeat:
    """A new heartbeat, `pending` (or paused): no deadline until its first ping."""
    heartbeat = await service.create(
        work.session, actor, ctx.credentials,
        organization_id=organization_id, data=data, now=ctx.clock.now(),
    )  # fmt: skip
    await apply_heartbeat_channels(work.session, organization_id, heartbeat.id, data.channel_ids)
    return heartbeat


async def update(
    work: UnitOfWork, ctx: Watching, actor: Actor, row: HeartbeatRow, data: HeartbeatUpdate
) -> None:
    changed = await service.update(work.session, actor, row, data, ctx.clock.now())
    await apply_heartbeat_channels(
        work.session, row.heartbeat.organization_id, row.heartbeat.id, data.channel_ids
    )
    follow(work, ctx.engine, changed)


async def set_active(
    work: UnitOfWork, ctx: Watching, actor: Actor, row: HeartbeatRow, active: bool
) -> None:
    """Pause, or resume with the timer restarted from now."""
    changed = await service.set_active(work.session, actor, row, active, ctx.clock.now())
    follow(work, ctx.engine, changed)


async def delete(work: UnitOfWork, ctx: Watching, actor: Actor, row: HeartbeatRow) -> None:
    """Delete a heartbeat and its history; its deadline goes with the commit."""
    heartbeat_id = row.heartbeat.id
    await service.delete(work.session, actor, row, ctx.clock.now())

    async def disarm() -> None:
        ctx.engine.deadlines.arm(heartbeat_id, None)

    work.after_commit(disarm)
