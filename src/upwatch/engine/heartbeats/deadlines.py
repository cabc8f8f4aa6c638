"""Heartbeat deadlines as timers: one heap of (deadline, heartbeat) in memory, one task that
sleeps until the earliest, then declares the misses in one transaction.

Nothing polls the database: the heap is loaded once at start (deadlines that passed while
Upwatch was stopped fire at once), and the ping writer and the API re-arm a heartbeat after
each commit that moves its deadline. A heap entry that no longer matches (a ping moved the
deadline) is skipped when it comes up. Firing re-reads and locks the state row, so a
deadline moved by another process is never declared missed; once declared, the row's
deadline is cleared in the same transaction, so a miss is declared once, also across
restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from upwatch.core.clock import Clock
from upwatch.core.waiting import wait_for_event
from upwatch.db.engine import Database
from upwatch.db.outages import is_unavailable
from upwatch.db.unit_of_work import unit_of_work
from upwatch.engine.heartbeats.pings import change_row, follow_incidents, save_runs
from upwatch.events import Event, EventBus
from upwatch.heartbeats import events, machine
from upwatch.heartbeats.live import live_of, rules_of, state_values
from upwatch.heartbeats.machine import RunDraft, Transition
from upwatch.logs import get_logger
from upwatch.models import Heartbeat, HeartbeatState, StateChange
from upwatch.notify import subscriptions

LOAD_PAGE = 5000
FIRE_BATCH = 1000
# The longest nap between looks at the heap. Deadlines are met by sleeping until them; the
# cap only bounds how long a jump of the wall clock (or a test's clock) goes unnoticed.
MAX_NAP_SECONDS = 0.25
RETRY_SECONDS = 1.0
log = get_logger("upwatch.deadlines")


class DeadlineWatcher:
    def __init__(self, database: Database, bus: EventBus, clock: Clock) -> None:
        self._database = database
        self._bus = bus
        self._clock = clock
        self._heap: list[tuple[datetime, int]] = []
        self._due: dict[int, datetime] = {}
        self._changed = asyncio.Event()
        self.loaded = asyncio.Event()  # set once the stored deadlines are all armed
        self._task: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._due)

    def arm(self, heartbeat_id: int, deadline: datetime | None) -> None:
        """The heartbeat's deadline is now `deadline` (None: no deadline)."""
        if deadline is None:
            self._due.pop(heartbeat_id, None)
            return
        if self._due.get(heartbeat_id) == deadline:
            return
        self._due[heartbeat_id] = deadline
        heapq.heappush(self._heap, (deadline, heartbeat_id))
        if self._heap[0] == (deadline, heartbeat_id):
            self._changed.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="deadline-watcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                await self._load()
                break
            except Exception as exc:
                log.warning("deadlines.load_failed", error=repr(exc), retry_in=RETRY_SECONDS)
                await asyncio.sleep(RETRY_SECONDS)
        self.loaded.set()
        log.info("deadlines.started", heartbeats=len(self._due))
        while True:
            due = self._take_due(self._clock.now())
            if not due:
                await self._nap()
                continue
            try:
                await self._fire(due)
            except Exception as exc:
                _log_fire_failure(exc, len(due))
                await asyncio.sleep(RETRY_SECONDS)
                for heartbeat_id, deadline in due.items():
                    self.arm(heartbeat_id, deadline)

    async def _load(self) -> None:
        after = 0
        while True:
            async with self._database.session() as session:
                query = (
                    select(HeartbeatState.heartbeat_id, HeartbeatState.deadline_at)
                    .where(HeartbeatState.deadline_at.is_not(None))
                    .where(HeartbeatState.heartbeat_id > after)
                    .order_by(HeartbeatState.heartbeat_id)
                    .limit(LOAD_PAGE)
                )
                page = (await session.execute(query)).all()
            for heartbeat_id, deadline in page:
                self.arm(heartbeat_id, deadline)
            if len(page) < LOAD_PAGE:
                return
            after = page[-1][0]

    def _take_due(self, now: datetime) -> dict[int, datetime]:
        due: dict[int, datetime] = {}
        while self._heap and self._heap[0][0] <= now and len(due) < FIRE_BATCH:
            deadline, heartbeat_id = heapq.heappop(self._heap)
            if self._due.get(heartbeat_id) == deadline:  # else: moved since, stale entry
                del self._due[heartbeat_id]
                due[heartbeat_id] = deadline
        return due

    async def _nap(self) -> None:
        self._changed.clear()
        wait = MAX_NAP_SECONDS
        if self._heap:
            wait = min(wait, max(0.0, (self._heap[0][0] - self._clock.now()).total_seconds()))
        await wait_for_event(self._changed, wait)

    async def _fire(self, due: dict[int, datetime]) -> None:
        """Declare the misses of one batch in one transaction, with bulk statements (a mass
        outage can bring thousands of misses in the same second)."""
        now = self._clock.now()
        published: list[Event] = []
        rearm: dict[int, datetime | None] = {}
        states: list[dict[str, Any]] = []
        changes: list[dict[str, Any]] = []
        runs: list[tuple[int, RunDraft]] = []
        downs: list[tuple[Heartbeat, Transition]] = []
        async with unit_of_work(self._database) as session:
            for heartbeat, state in await _locked(session, list(due)):
                live = live_of(state)
                deadline = live.deadline_at
                transition = machine.miss(rules_of(heartbeat), live, now)
                rearm[heartbeat.id] = live.deadline_at  # moved meanwhile: keep watching
                if live.deadline_at != state.deadline_at or transition is not None:
                    states.append({"heartbeat_id": heartbeat.id, **state_values(live)})
                if transition is None or deadline is None:
                    continue
                runs.extend((heartbeat.id, run) for run in live.open_runs)
                if transition.changes_status:
                    changes.append(change_row(heartbeat.id, transition))
                    downs.append((heartbeat, transition))
                org, public_id, name = (
                    heartbeat.organization_id,
                    heartbeat.public_id,
                    heartbeat.name,
                )
                published.append(events.missed(org, public_id, name, transition, deadline))
                if transition.changes_status:
                    published.append(events.status_changed(org, public_id, name, transition))
            session.expunge_all()  # the bulk statements below are the changes, not the objects
            await save_runs(session, runs)
            if states:
                await session.execute(update(HeartbeatState), states)
            if changes:
                await session.execute(insert(StateChange), changes)
                published.extend(await follow_incidents(session, downs, missed=True))
            await subscriptions.enqueue(session, published)
        for heartbeat_id, deadline in rearm.items():
            self.arm(heartbeat_id, deadline)
        if published:
            missed = sum(event.type == "heartbeat.missed" for event in published)
            log.info("deadlines.missed", heartbeats=missed)
            try:
                await self._bus.publish(published)
            except Exception as exc:
                log.warning("deadlines.publish_failed", error=repr(exc))


def _log_fire_failure(error: Exception, heartbeats: int) -> None:
    """An outage is expected and waited out (the misses are declared once it is back): one
    line per attempt. Any other failure is a bug or bad data, worth its traceback."""
    if is_unavailable(error):
        log.warning("deadlines.database_unavailable", heartbeats=heartbeats, error=repr(error))
    else:
        log.exception("deadlines.fire_failed", heartbeats=heartbeats)  # in the except block


async def _locked(session: AsyncSession, ids: list[int]) -> list[tuple[Heartbeat, HeartbeatState]]:
    query = (
        select(Heartbeat, HeartbeatState)
        .join(HeartbeatState, HeartbeatState.heartbeat_id == Heartbeat.id)
        .where(Heartbeat.id.in_(ids))
        .order_by(Heartbeat.id)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=HeartbeatState)
    return [(heartbeat, state) for heartbeat, state in await session.execute(query)]
