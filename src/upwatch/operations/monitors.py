"""Monitors, changed whole. The slice's service validates, writes and audits; an operation
also sets the monitor's links and reaches the engine: this process's after the commit, worker
processes through a notification queued in the change's own transaction (delivered when it
commits, never for a rollback). A batch is all or nothing and tells the engine once."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from upwatch.audit.service import Actor
from upwatch.core.clock import Clock
from upwatch.core.errors import AppError, ConfigInvalidError
from upwatch.db.unit_of_work import UnitOfWork
from upwatch.engine import changes
from upwatch.engine.checks import schedule
from upwatch.engine.engine import Engine
from upwatch.models import Monitor
from upwatch.monitors import service
from upwatch.monitors.repository import MonitorRow
from upwatch.monitors.schemas import ExecutionMode, MonitorCreate, MonitorUpdate
from upwatch.monitors.secrets import SecretStore
from upwatch.monitors.service import Rules
from upwatch.operations.links import apply_monitor_links


@dataclass(frozen=True, slots=True)
class Monitoring:
    """What a monitor change needs besides its unit of work."""

    store: SecretStore
    rules: Rules
    engine: Engine
    clock: Clock


class BatchItemError(Exception):
    """Item `index` of a batch was refused (nothing of the batch is kept)."""

    def __init__(self, index: int, error: AppError | ConfigInvalidError) -> None:
        super().__init__(f"item {index} failed")
        self.index = index
        self.error = error


async def tell_engine(work: UnitOfWork, engine: Engine, monitor_ids: Iterable[int]) -> None:
    """This process's engine applies the change after the commit; worker processes hear of
    it through the transaction's notification (`engine.changes`)."""
    ids = tuple(monitor_ids)

    async def refresh() -> None:
        await engine.refresh(ids)

    work.after_commit(refresh)
    await changes.announce(work.session, ids)


async def _create_one(
    work: UnitOfWork, ctx: Monitoring, actor: Actor, organization_id: int, data: MonitorCreate
) -> Monitor:
    monitor = await service.create(
        work.session, actor, ctx.store, ctx.rules,
        organization_id=organization_id, data=data, now=ctx.clock.now(),
    )  # fmt: skip
    await apply_monitor_links(work.session, monitor, data.model_dump(exclude_unset=True))
    return monitor


async def create(
    work: UnitOfWork, ctx: Monitoring, actor: Actor, organization_id: int, data: MonitorCreate
) -> Monitor:
    monitor = await _create_one(work, ctx, actor, organization_id, data)
    await tell_engine(work, ctx.engine, [monitor.id])
    return monitor


async def create_many(
    work: UnitOfWork,
    ctx: Monitoring,
    actor: Actor,
    organization_id: int,
    items: Sequence[MonitorCreate],
) -> list[Monitor]:
    made = []
    for index, data in enumerate(items):
        try:
            made.append(await _create_one(work, ctx, actor, organization_id, data))
        except AppError as error:
            raise BatchItemError(index, error) from None
    await tell_engine(work, ctx.engine, (monitor.id for monitor in made))
    return made


def _name_fresh_slot(row: MonitorRow, clock: Clock) -> None:
    """A resumed (or re-phased) monitor's first slot, computed now as the scheduler would,
    so the answer shows `next_check_at` instead of null; the scheduler keeps it."""
    monitor = row.monitor
    scheduled = monitor.is_active and monitor.execution_mode == ExecutionMode.BACKGROUND
    if scheduled and row.state.next_run_at is None:
        row.state.next_run_at = schedule.first_slot(
            monitor.public_id, monitor.interval_seconds, clock.now()
        )


async def _update_one(
    work: UnitOfWork, ctx: Monitoring, actor: Actor, row: MonitorRow, patch: MonitorUpdate
) -> None:
    interval = row.monitor.interval_seconds
    await service.update(work.session, actor, ctx.store, ctx.rules, row, patch, ctx.clock.now())
    await apply_monitor_links(work.session, row.monitor, patch.model_dump(exclude_unset=True))
    if row.monitor.interval_seconds != interval:
        row.state.next_run_at = None  # a new interval has a new phase
    _name_fresh_slot(row, ctx.clock)


async def update(
    work: UnitOfWork, ctx: Monitoring, actor: Actor, row: MonitorRow, patch: MonitorUpdate
) -> None:
    """Change a monitor (a config its kind refuses raises ConfigInvalidError)."""
    await _update_one(work, ctx, actor, row, patch)
    await tell_engine(work, ctx.engine, [row.monitor.id])


async def update_many(
    work: UnitOfWork,
    ctx: Monitoring,
    actor: Actor,
    rows: Sequence[MonitorRow],
    patch: MonitorUpdate,
) -> None:
    for index, row in enumerate(rows):
        try:
            await _update_one(work, ctx, actor, row, patch)
        except (AppError, ConfigInvalidError) as error:
            raise BatchItemError(index, error) from None
    await tell_engine(work, ctx.engine, (row.monitor.id for row in rows))


async def remove(
    work: UnitOfWork, ctx: Monitoring, actor: Actor, rows: Sequence[MonitorRow]
) -> None:
    """Delete monitors and their history."""
    now = ctx.clock.now()
    for row in rows:
        await service.remove(work.session, actor, row, now)
    await tell_engine(work, ctx.engine, (row.monitor.id for row in rows))


async def set_active(
    work: UnitOfWork, ctx: Monitoring, actor: Actor, row: MonitorRow, active: bool
) -> None:
    """Pause, or resume from a fresh slot."""
    await service.set_active(work.session, actor, row, active, ctx.clock.now())
    _name_fresh_slot(row, ctx.clock)
    await tell_engine(work, ctx.engine, [row.monitor.id])
