"""Commit at the edge: a unit of work wraps one request, one command or one worker step.

Services and repositories use the session they are given and never commit; the edge that
opened the unit of work commits once when the work succeeded and rolls back otherwise, so a
failure never leaves half a change behind.

`unit_of_work` is the bare form: a session, committed or rolled back. `UnitOfWork` (opened
with `open_unit_of_work`) is the change path of the API and the CLI: it also collects what
the change must set off. On commit its events are staged in the same transaction (webhook
subscriptions' outbox rows, by the `Outlets` the edge wires in); after the commit they are
published on the event bus and the after-commit actions run (tell the engine, re-arm a
deadline). A rolled-back change sets off none of it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from upwatch.db.engine import Database
from upwatch.events import Event, EventBus
from upwatch.logs import get_logger

AfterCommit = Callable[[], Awaitable[None]]
StageEvents = Callable[[AsyncSession, Sequence[Event]], Awaitable[object]]
log = get_logger("upwatch.db.unit_of_work")


@asynccontextmanager
async def unit_of_work(database: Database, *, write: bool = True) -> AsyncIterator[AsyncSession]:
    """A session whose work commits when the block ends, or rolls back if it raises."""
    async with database.write_session() if write else database.session() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await session.commit()


@dataclass(frozen=True, slots=True)
class Outlets:
    """Where a unit of work's events go. `stage` writes what must leave with the commit, in
    its transaction (`notify.subscriptions.enqueue`: lower layers cannot name it, so the edge
    passes it in); `bus` carries the events live once they are committed."""

    stage: StageEvents
    bus: EventBus


class UnitOfWork:
    """One change: the session it is written in, the events it makes (`emit`) and what must
    happen once it is committed (`after_commit`)."""

    def __init__(self, session: AsyncSession, database: Database, outlets: Outlets) -> None:
        self.session = session
        self.database = database  # for after-commit reads, in sessions of their own
        self._outlets = outlets
        self._events: list[Event] = []
        self._actions: list[AfterCommit] = []

    def emit(self, *events: Event) -> None:
        """Deliver `events` to webhook subscriptions and the event bus if the change commits."""
        self._events.extend(events)

    def after_commit(self, action: AfterCommit) -> None:
        """Run `action` once the change is committed (never if it rolls back)."""
        self._actions.append(action)

    async def stage(self) -> None:
        """In the transaction, just before the commit: the events' deliveries."""
        if self._events:
            await self._outlets.stage(self.session, self._events)

    async def settle(self) -> None:
        """After the commit: the actions in their order, then the events on the bus. The
        change is committed whatever happens here, so a failure is logged, never raised: the
        caller must not report a stored change as failed (nor retry it)."""
        actions, self._actions = self._actions, []
        for action in actions:
            try:
                await action()
            except Exception:
                log.exception("unit_of_work.after_commit_failed", action=_name(action))
        events, self._events = self._events, []
        if events:
            try:
                await self._outlets.bus.publish(events)
            except Exception as exc:  # committed, and queued for subscriptions: only live is lost
                log.warning("unit_of_work.publish_failed", error=repr(exc), events=len(events))

    def discard(self) -> None:
        """The change rolled back: nothing it collected may leave."""
        self._events.clear()
        self._actions.clear()


def _name(action: AfterCommit) -> str:
    return getattr(action, "__qualname__", repr(action))


@asynccontextmanager
async def open_unit_of_work(
    database: Database, outlets: Outlets, *, write: bool = True
) -> AsyncIterator[UnitOfWork]:
    """A unit of work committed when the block ends (its events staged first, in the same
    transaction) and settled after the commit; rolled back and discarded if it raises."""
    async with database.write_session() if write else database.session() as session:
        work = UnitOfWork(session, database, outlets)
        try:
            yield work
            await work.stage()
        except BaseException:
            work.discard()
            await session.rollback()
            raise
        await session.commit()
    await work.settle()
