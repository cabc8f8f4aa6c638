"""Batched writes of check results: one transaction per batch for the result rows, the live
states, the rollups, the state changes and the webhook deliveries of their events; events
are published after the commit.

Checks never wait for the database: they submit a record and go on. A caller that needs the
write to be done (an on-demand run) awaits the future `submit` returns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import Insert, Table, Update, insert, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from upwatch.db.engine import Database
from upwatch.db.outages import is_unavailable
from upwatch.db.statements import update_by
from upwatch.db.unit_of_work import unit_of_work
from upwatch.engine.ingest.backlog import Backlog, Bounds
from upwatch.engine.ingest.batching import BatchWriter, Pace, Sink, Unavailable
from upwatch.engine.ingest.evaluate import CheckRecord
from upwatch.engine.ingest.rollups import Key, Rollup, RollupCache, keys_for
from upwatch.events import Event, EventBus
from upwatch.logs import get_logger
from upwatch.models import CheckResult, CheckRollup, Monitor, MonitorState
from upwatch.models.state_change import StateChange
from upwatch.notify import alerting, subscriptions

FLUSH_SECONDS = 0.25
MAX_BATCH = 2000
# Results waiting to be written beyond which new scheduled checks wait (`room`): an
# overloaded process then checks late, and says so in lateness, instead of holding ever
# more unwritten results in memory, all lost if it stops. (While the database is
# unreachable they go to the backlog instead: checks go on, and their state changes are
# kept for when it is back.)
MAX_PENDING = 4 * MAX_BATCH
# Retrying an unreachable database: the first retry soon (a blip), then ever less often.
RETRY_FIRST_SECONDS = 0.5
RETRY_MAX_SECONDS = 5.0
# Without a spool (tests, tools): hold at most this many records in memory.
MEMORY_ONLY = Bounds(memory_records=10 * MAX_PENDING)
log = get_logger("upwatch.writer")

# Core statements on the tables, built once: the ORM's bulk paths (insert(Model) with a list,
# update(Model) by primary key, add_all) cost a third of the writer's time at 500 checks/s.
RESULTS_INSERT = insert(cast(Table, CheckResult.__table__))
STATE_CHANGES_INSERT = insert(cast(Table, StateChange.__table__))


class ResultWriter(Sink[CheckRecord, None]):
    """Writes check records in the order they were made. While the database is unreachable
    they are held (`Backlog`: memory, then the spool on disk) and written, still in order,
    once it answers again; the alerts they raise then are marked late. Nothing is held, and
    nothing costs more per record, while the database answers."""

    holds = True

    def __init__(self, database: Database, bus: EventBus, bounds: Bounds = MEMORY_ONLY) -> None:
        self._database = database
        self._bus = bus
        self._batches = BatchWriter(
            "result-writer",
            Pace(
                max_batch=MAX_BATCH,
                flush_seconds=FLUSH_SECONDS,
                max_pending=MAX_PENDING,
                retry_first_seconds=RETRY_FIRST_SECONDS,
                retry_max_seconds=RETRY_MAX_SECONDS,
            ),
            self,
        )
        self._rollups = RollupCache()
        self._incident_events: list[Event] = []  # of committed batches, not yet published
        self._committed: list[CheckRecord] = []  # of the last batch, announced once settled
        self._bounds = bounds
        self._backlog = Backlog(None, bounds.memory_records)  # the real one opens at start
        # A spool left by a process killed between a commit and noting it holds that batch
        # still: the first batch read back is checked against what is stored.
        self._replaying = False
        # Set once what a previous run left in the spool is written: the engine loads the
        # monitors' live states only then, so it does not judge checks by stale states.
        self.caught_up = asyncio.Event()

    @property
    def held(self) -> int:
        """Records waiting for the database to come back."""
        return len(self._backlog)

    def submit(self, record: CheckRecord) -> asyncio.Future[None]:
        return self._batches.submit(record)

    async def room(self) -> None:
        """Return once the writer is not far behind."""
        await self._batches.room()

    def start(self) -> None:
        self._backlog = self._bounds.open()
        if not self._backlog:
            self.caught_up.set()
        else:
            log.warning("writer.spool_loaded", records=len(self._backlog))
            self._replaying = True
        self._batches.start()

    async def stop(self) -> None:
        """Let the batch being written commit, then write what is left. What the database
        cannot take now goes to the spool, for the next start."""
        try:
            await self._batches.stop()
        except Exception:
            log.exception("writer.flush_failed")
        await self._batches.hold_pending()
        if self._backlog:
            await self._backlog.spill_all()
            log.warning("writer.spooled_for_next_start", records=self._backlog.spooled)
        self._backlog.close()

    async def flush(self) -> None:
        """Write the backlog (oldest first), then what is pending. While the database is
        unreachable, pending records join the backlog, and the loop tries again later."""
        await self._batches.flush()

    # The batch writer's side (Sink).

    async def before(self) -> None:
        """What an outage held goes first, oldest first."""
        while self._backlog:
            batch = self._backlog.peek(MAX_BATCH)
            try:
                fresh = await self._not_stored(batch) if self._replaying else batch
                written = await self._commit(fresh, late=True) if fresh else []
            except Unavailable as outage:
                # Replaying, positions in `fresh` are not those in the spool: check again.
                self._backlog.done(0 if self._replaying else outage.written)
                raise
            self._backlog.done(len(batch))
            self._replaying = False
            await self._announce(written)
        self.caught_up.set()

    async def write(self, items: list[CheckRecord]) -> list[None]:
        self._committed = await self._commit(items, late=self._batches.in_outage)
        return [None] * len(items)

    async def written(self) -> None:
        committed, self._committed = self._committed, []
        await self._announce(committed)

    async def hold(self, items: list[CheckRecord]) -> None:
        await self._backlog.add(items)

    def refused(self, error: BaseException, count: int) -> None:
        # A bug or bad data (an outage is held, not refused): those records are lost.
        log.exception("writer.flush_failed", records=count, error=repr(error))

    def crashed(self) -> None:
        log.exception("writer.flush_failed")

    def unavailable(self, error: BaseException, retry_in: float) -> None:
        log.warning("writer.database_unavailable", held=len(self._backlog),
                    retry_in=retry_in, error=repr(error))  # fmt: skip

    def back(self) -> None:
        log.info("writer.database_back")

    async def _not_stored(self, records: list[CheckRecord]) -> list[CheckRecord]:
        """The records whose result row is not stored yet (by monitor and check time)."""
        keys = [(record.monitor_id, record.checked_at) for record in records]
        try:
            async with self._database.session() as session:
                found = await session.execute(
                    select(CheckResult.monitor_id, CheckResult.checked_at).where(
                        tuple_(CheckResult.monitor_id, CheckResult.checked_at).in_(keys)
                    )
                )
                stored = {(monitor_id, checked_at) for monitor_id, checked_at in found}
        except Exception as exc:
            if is_unavailable(exc):
                raise Unavailable(exc) from exc
            raise
        if stored:
            log.warning("writer.spool_already_stored", records=len(stored))
        return [record for record, key in zip(records, keys, strict=True) if key not in stored]

    async def _commit(self, records: list[CheckRecord], *, late: bool) -> list[CheckRecord]:
        """Write the batch in one transaction; if it fails for another reason than an
        outage, one record at a time, so that a record the database refuses for good costs
        only itself."""
        try:
            return await self._write_existing(records, late=late)
        except Exception as exc:
            if is_unavailable(exc):
                raise Unavailable(exc) from exc
            log.warning("writer.batch_refused", records=len(records), error=repr(exc))
        written: list[CheckRecord] = []
        for index, record in enumerate(records):
            try:
                written += await self._write_existing([record], late=late)
            except Exception as exc:
                if is_unavailable(exc):
                    raise Unavailable(exc, written=index) from exc
                log.exception("writer.record_dropped", monitor_id=record.monitor_id)
        return written

    async def _announce(self, records: list[CheckRecord]) -> None:
        followed, self._incident_events = self._incident_events, []
        try:
            await self._bus.publish(
                [event for record in records for event in record.events] + followed
            )
        except Exception as exc:  # results are stored; only the live announcement is lost
            log.warning("writer.publish_failed", error=repr(exc))

    async def _write_existing(self, records: list[CheckRecord], *, late: bool) -> list[CheckRecord]:
        """Write the batch; if a monitor was deleted meanwhile (its rows break a foreign
        key), drop only its records and write the rest."""
        try:
            await self._write(records, late=late)
        except IntegrityError:
            async with self._database.session() as session:
                ids = {record.monitor_id for record in records}
                found = await session.execute(select(Monitor.id).where(Monitor.id.in_(ids)))
                alive = set(found.scalars())
            records = [record for record in records if record.monitor_id in alive]
            self._rollups.forget_monitors(ids - alive)
            if records:
                await self._write(records, late=late)
        return records

    async def _write(self, records: Sequence[CheckRecord], *, late: bool) -> None:
        """One transaction; the rollup cache takes the new values only once it commits."""
        async with unit_of_work(self._database) as session:
            await session.execute(RESULTS_INSERT, [r.result_row for r in records])
            states = _latest_states(records)
            await session.execute(_states_update(frozenset(states[0])), states)
            changes = [
                {"monitor_id": r.monitor_id, **r.state_change} for r in records if r.state_change
            ]
            if changes:
                await session.execute(STATE_CHANGES_INSERT, changes)
            followed = await _follow_incidents(session, changes, records, late=late)
            await subscriptions.enqueue(
                session, [event for record in records for event in record.events] + followed
            )
            touched = await self._write_rollups(session, records)
        self._incident_events.extend(followed)
        self._rollups.store(touched)
        self._rollups.forget_before(max(r.checked_at for r in records))

    async def _write_rollups(
        self, session: AsyncSession, records: Sequence[CheckRecord]
    ) -> dict[Key, Rollup]:
        keys = {key for r in records for key in keys_for(r.monitor_id, r.checked_at)}
        await self._load_missing(session, keys)
        touched = {key: self._rollups.copy_of(key) for key in keys}
        for record in records:
            for key in keys_for(record.monitor_id, record.checked_at):
                touched[key].add(record.ok, record.latency_ms, record.maintenance)
        rows = [
            {"monitor_id": k[0], "resolution": k[1], "bucket_start": k[2], **r.values()}
            for k, r in touched.items()
        ]
        dialect = session.get_bind().dialect.name
        await session.execute(_rollups_upsert(dialect, frozenset(rows[0])), rows)
        return touched

    async def _load_missing(self, session: AsyncSession, keys: set[Key]) -> None:
        """Rows of buckets this process has not seen yet (after a restart)."""
        missing = self._rollups.missing(keys)
        if not missing:
            return
        key_columns = tuple_(
            CheckRollup.monitor_id, CheckRollup.resolution, CheckRollup.bucket_start
        )
        result = await session.execute(select(CheckRollup).where(key_columns.in_(list(missing))))
        for row in result.scalars():
            self._rollups.load(
                (row.monitor_id, row.resolution, row.bucket_start), Rollup.from_row(row)
            )


async def _follow_incidents(
    session: AsyncSession,
    changes: list[dict[str, Any]],
    records: Sequence[CheckRecord],
    *,
    late: bool,
) -> list[Event]:
    """Incidents, alerts and notifications of the batch, in its transaction: state changes,
    and the spikes and certificate warnings its checks found. `late`: the batch waited for
    the database, its alerts say so."""
    triggers = [
        alerting.Trigger(
            "monitor", change["monitor_id"], None, change["created_at"], change["reason"],
            from_status=change["from_status"], to_status=change["to_status"], late=late,
        )
        for change in changes
    ]  # fmt: skip
    triggers += [
        replace(trigger, late=True) if late else trigger
        for record in records
        for trigger in record.alerts
    ]
    return (await alerting.follow(session, triggers)).events


def _latest_states(records: Sequence[CheckRecord]) -> list[dict[str, Any]]:
    """One update per monitor: its last record's state (with `state_of`, its key)."""
    latest: dict[int, tuple[datetime, dict[str, Any]]] = {}
    for record in records:
        known = latest.get(record.monitor_id)
        if known is None or record.checked_at >= known[0]:
            latest[record.monitor_id] = (record.checked_at, record.state_values)
    return [{**values, "state_of": values["monitor_id"]} for _, values in latest.values()]


@cache
def _states_update(keys: frozenset[str]) -> Update:
    """UPDATE monitor_states SET <every column in keys> WHERE monitor_id = :state_of."""
    return update_by(MonitorState, "monitor_id", "state_of", keys - {"monitor_id", "state_of"})


@cache
def _rollups_upsert(dialect: str, keys: frozenset[str]) -> Insert:
    """INSERT INTO check_rollups ... ON CONFLICT (its key) DO UPDATE the figures."""
    statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(
        cast(Table, CheckRollup.__table__)
    )
    figures = sorted(keys - {"monitor_id", "resolution", "bucket_start"})
    return statement.on_conflict_do_update(
        index_elements=["monitor_id", "resolution", "bucket_start"],
        set_={column: statement.excluded[column] for column in figures},
    )
