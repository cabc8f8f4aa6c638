"""Heartbeat pings, written in batches (group commit): each request waits for the commit that
stores its ping, so an acknowledged ping is never lost, and concurrent pings share one
transaction instead of queueing for the database one by one.

One batch = one transaction: find the heartbeats, lock their state rows (PostgreSQL; SQLite
writers are serialized by BEGIN IMMEDIATE), run every ping through the state machine in
arrival order, then insert pings and runs and update states and runs. Events are published
and deadlines re-armed after the commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Update, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from upwatch.db.engine import Database
from upwatch.db.outages import is_unavailable
from upwatch.db.statements import table_of, update_by
from upwatch.db.unit_of_work import unit_of_work
from upwatch.engine.ingest.batching import BatchWriter, Pace, Sink
from upwatch.events import Event, EventBus
from upwatch.heartbeats import events, machine
from upwatch.heartbeats.live import live_of, rules_of, state_values
from upwatch.heartbeats.machine import Live, Ping, PingKind, RunDraft, Transition
from upwatch.logs import get_logger
from upwatch.models import Heartbeat, HeartbeatPing, HeartbeatRun, HeartbeatState, StateChange
from upwatch.notify import alerting, subscriptions

MAX_BATCH = 1000
log = get_logger("upwatch.pings")
Arm = Callable[[int, datetime | None], None]
# Core statements, built once (see upwatch.db.statements).
PINGS_INSERT = insert(table_of(HeartbeatPing))
RUNS_INSERT = insert(table_of(HeartbeatRun)).returning(
    table_of(HeartbeatRun).c.id, sort_by_parameter_order=True
)
STATES_KEY = "state_of"
RUN_KEY = "run_id"
# What _run_row fills.
RUN_COLUMNS = (
    "heartbeat_id", "rid", "opened_at", "started_at", "ended_at", "duration_ms", "outcome",
    "exit_code",
)  # fmt: skip
RUNS_UPDATE = update_by(HeartbeatRun, "id", RUN_KEY, RUN_COLUMNS)


@cache
def _states_update(keys: frozenset[str]) -> Update:
    """UPDATE heartbeat_states SET <every column in keys> WHERE heartbeat_id = :state_of."""
    return update_by(HeartbeatState, "heartbeat_id", STATES_KEY, keys - {STATES_KEY})


@dataclass(slots=True)
class Received:
    """One ping as the HTTP edge received it, addressed by token hash or heartbeat id."""

    ping: Ping
    method: str
    source_ip: str | None
    user_agent: str | None
    body_truncated: bool = False
    token_hash: str | None = None
    heartbeat_id: int | None = None


@dataclass(slots=True)
class _Batch:
    heartbeats: dict[int, Heartbeat] = field(default_factory=dict)
    lives: dict[int, Live] = field(default_factory=dict)
    runs: dict[int, tuple[int, RunDraft]] = field(default_factory=dict)  # by id(run): touched
    pings: list[tuple[int, Received, float | None]] = field(default_factory=list)
    transitions: list[tuple[int, Transition]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)


class PingWriter(Sink[Received, bool]):
    """Group commit on the engine's batch writer: a ping is acknowledged once stored. An
    outage refuses the batch (the clients retry); nothing is held."""

    def __init__(self, database: Database, bus: EventBus, arm: Arm) -> None:
        self._database = database
        self._bus = bus
        self._arm = arm
        self._batches = BatchWriter("ping-writer", Pace(max_batch=MAX_BATCH), self)
        self._committed = _Batch()  # of the last batch: re-armed and announced once settled

    async def submit(self, received: Received) -> bool:
        """Store the ping; True once committed, False when no heartbeat has that address."""
        return await self._batches.submit(received)

    def start(self) -> None:
        self._batches.start()

    async def stop(self) -> None:
        """Let the batch being written commit, then write what is left."""
        await self._batches.stop()

    async def write(self, items: list[Received]) -> list[bool]:
        batch = _Batch()
        async with unit_of_work(self._database) as session:
            await _load(session, batch, items)
            by_hash = {hb.ping_token_hash: hb.id for hb in batch.heartbeats.values()}
            stored: list[bool] = []
            for item in items:
                heartbeat_id = item.heartbeat_id or by_hash.get(item.token_hash or "")
                found = heartbeat_id is not None and heartbeat_id in batch.heartbeats
                if heartbeat_id is not None and found:
                    _apply(batch, heartbeat_id, item)
                stored.append(found)
            await _save(session, batch)
            await subscriptions.enqueue(session, batch.events)
        self._committed = batch
        return stored

    async def written(self) -> None:
        batch, self._committed = self._committed, _Batch()
        for heartbeat_id, live in batch.lives.items():
            self._arm(heartbeat_id, live.deadline_at)
        try:
            await self._bus.publish(batch.events)
        except Exception as exc:  # pings are stored; only the live announcement is lost
            log.warning("pings.publish_failed", error=repr(exc))

    def refused(self, error: BaseException, count: int) -> None:
        _log_write_failure(error, count)

    def crashed(self) -> None:
        log.exception("pings.write_failed")


def _log_write_failure(error: BaseException, pings: int) -> None:
    """An outage is expected and waited out (the clients retry): one line per batch. Any
    other failure is a bug or bad data, worth its traceback."""
    if is_unavailable(error):
        log.warning("pings.database_unavailable", pings=pings, error=repr(error))
    else:
        log.exception("pings.write_failed", pings=pings)  # called in the except block


async def _load(session: AsyncSession, batch: _Batch, received: Sequence[Received]) -> None:
    hashes = {item.token_hash for item in received if item.token_hash}
    ids = {item.heartbeat_id for item in received if item.heartbeat_id}
    query = (
        select(Heartbeat, HeartbeatState)
        .join(HeartbeatState, HeartbeatState.heartbeat_id == Heartbeat.id)
        .where(or_(Heartbeat.ping_token_hash.in_(hashes), Heartbeat.id.in_(ids)))
        .order_by(Heartbeat.id)  # one lock order for every writer: no deadlocks
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=HeartbeatState)
    for heartbeat, state in await session.execute(query):
        batch.heartbeats[heartbeat.id] = heartbeat
        batch.lives[heartbeat.id] = live_of(state)


def _apply(batch: _Batch, heartbeat_id: int, item: Received) -> None:
    heartbeat, live = batch.heartbeats[heartbeat_id], batch.lives[heartbeat_id]
    rules = rules_of(heartbeat)
    deadline = live.deadline_at
    # A deadline that passed before this ping arrived is a miss on record, then the ping.
    late = machine.miss(rules, live, item.ping.received_at)
    if late is not None and deadline is not None:
        _note(batch, heartbeat, late, deadline)
    effect = machine.receive(rules, live, item.ping)
    for run in (effect.run, *effect.closed, *live.open_runs):
        if run is not None:
            batch.runs[id(run)] = (heartbeat_id, run)
    ended = effect.run if item.ping.kind is not PingKind.START else None
    batch.pings.append((heartbeat_id, item, None if ended is None else ended.duration_ms))
    if effect.transition is not None:
        _note(batch, heartbeat, effect.transition, None)
    batch.events.append(
        events.pinged(
            heartbeat.organization_id,
            heartbeat.public_id,
            heartbeat.name,
            item.ping,
            ended,
            str(live.status),
        )
    )


def _note(
    batch: _Batch, heartbeat: Heartbeat, transition: Transition, missed: datetime | None
) -> None:
    org, public_id, name = heartbeat.organization_id, heartbeat.public_id, heartbeat.name
    if missed is not None:
        batch.events.append(events.missed(org, public_id, name, transition, missed))
    if transition.changes_status:
        batch.transitions.append((heartbeat.id, transition))
        batch.events.append(events.status_changed(org, public_id, name, transition))


async def _save(session: AsyncSession, batch: _Batch) -> None:
    if not batch.pings:
        return
    await save_runs(session, batch.runs.values())
    states = [{STATES_KEY: hid, **state_values(live)} for hid, live in batch.lives.items()]
    await session.execute(_states_update(frozenset(states[0])), states)
    await session.execute(PINGS_INSERT, [_ping_row(*entry) for entry in batch.pings])
    if batch.transitions:
        await session.execute(
            insert(StateChange), [change_row(hid, t) for hid, t in batch.transitions]
        )
        batch.events.extend(
            await follow_incidents(
                session, [(batch.heartbeats[hid], t) for hid, t in batch.transitions]
            )
        )


async def save_runs(session: AsyncSession, runs: Iterable[tuple[int, RunDraft]]) -> None:
    """Insert the new runs (their ids are then known) and update the changed ones."""
    new = [(hid, run) for hid, run in runs if run.id is None]
    changed = [(hid, run) for hid, run in runs if run.id is not None and run.changed]
    if new:
        result = await session.execute(RUNS_INSERT, [_run_row(hid, run) for hid, run in new])
        for (_, run), run_id in zip(new, result.scalars(), strict=True):
            run.id = run_id
    if changed:
        await session.execute(
            RUNS_UPDATE, [{RUN_KEY: run.id, **_run_row(hid, run)} for hid, run in changed]
        )


def _run_row(heartbeat_id: int, run: RunDraft) -> dict[str, Any]:
    return {
        "heartbeat_id": heartbeat_id,
        "rid": run.rid,
        "opened_at": run.opened_at,
        "started_at": run.started_at,
        "ended_at": run.ended_at,
        "duration_ms": run.duration_ms,
        "outcome": str(run.outcome),
        "exit_code": run.exit_code,
    }


def _ping_row(heartbeat_id: int, item: Received, duration_ms: float | None) -> dict[str, Any]:
    ping = item.ping
    return {
        "heartbeat_id": heartbeat_id,
        "received_at": ping.received_at,
        "kind": str(ping.kind),
        "exit_code": ping.exit_code,
        "rid": ping.rid,
        "method": item.method,
        "source_ip": item.source_ip,
        "user_agent": item.user_agent,
        "body": ping.body,
        "body_truncated": item.body_truncated,
        "duration_ms": duration_ms,
    }


async def follow_incidents(
    session: AsyncSession, changes: Sequence[tuple[Heartbeat, Transition]], *, missed: bool = False
) -> list[Event]:
    """Incidents, alerts and notifications of the heartbeats' changes, in their transaction."""
    triggers = [
        alerting.Trigger(
            "heartbeat", hb.id, None, t.at, t.reason, from_status=str(t.from_status),
            to_status=str(t.to_status), missed=missed,
        )
        for hb, t in changes
    ]  # fmt: skip
    return (await alerting.follow(session, triggers)).events


def change_row(heartbeat_id: int, transition: Transition) -> dict[str, Any]:
    return {
        "heartbeat_id": heartbeat_id,
        "from_status": str(transition.from_status),
        "to_status": str(transition.to_status),
        "reason": transition.reason,
        "created_at": transition.at,
    }
