"""The engine: loads monitors, schedules them, runs checks, records the results; writes
heartbeat pings and watches their deadlines.

One per process. `upwatch serve` runs it beside the API (unless `UPWATCH_RUN_CHECKS=false`);
the API always uses it for on-demand runs. The engine keeps each monitor's live state in
memory (the writer persists it), so a check costs no database read.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry

from upwatch.core.clock import Clock
from upwatch.db.engine import Database
from upwatch.engine.checks.runner import ClosedError, Runner
from upwatch.engine.checks.scheduler import Scheduler
from upwatch.engine.checks.shards import EVERYTHING, Shard
from upwatch.engine.checks.snapshot import MonitorSnapshot, snapshot_of
from upwatch.engine.heartbeats.deadlines import DeadlineWatcher
from upwatch.engine.heartbeats.pings import PingWriter
from upwatch.engine.ingest.backlog import Bounds
from upwatch.engine.ingest.evaluate import CheckRecord, MonitorLive, evaluate
from upwatch.engine.ingest.writer import ResultWriter
from upwatch.engine.maintenance import MaintenanceCalendar
from upwatch.engine.metrics import EngineMetrics, MonitorCollector, SkippedSlotsCollector
from upwatch.events import EventBus
from upwatch.logs import get_logger
from upwatch.models import Monitor, MonitorState
from upwatch.monitors import repository
from upwatch.monitors.secrets import SecretStore
from upwatch.settings import Settings

LOAD_PAGE = 2000
LOAD_RETRY_SECONDS = 2.0
DRAIN_SECONDS = 5.0
IN_FLIGHT_PER_SLOT = 4
log = get_logger("upwatch.engine")


def _writer_bounds(settings: Settings, shard: Shard) -> Bounds:
    """One spool per shard: workers that share a data directory keep apart."""
    name = f"results-{shard.index}of{shard.count}.jsonl"
    return Bounds(
        memory_records=settings.outage_memory_results,
        spool_path=settings.data_dir / "spool" / name,
        spool_max_bytes=settings.outage_spool_max_mb * 1024 * 1024,
    )


class Engine:
    def __init__(
        self,
        database: Database,
        settings: Settings,
        store: SecretStore,
        bus: EventBus,
        clock: Clock,
        registry: CollectorRegistry | None = None,
        *,
        shard: Shard = EVERYTHING,
    ) -> None:
        self._database = database
        self.shard = shard  # the monitors this process schedules (all, unless a worker)
        self._store = store
        self._clock = clock
        self.runner = Runner(
            max_concurrency=settings.check_concurrency,
            per_host=settings.checks_per_host,
            public_only=settings.probe_public_only,
        )
        self.writer = ResultWriter(database, bus, _writer_bounds(settings, shard))
        # Heartbeats need no network: their deadlines are watched in every engine.
        self.deadlines = DeadlineWatcher(database, bus, clock)
        self.pings = PingWriter(database, bus, self.deadlines.arm)
        # Unfinished checks (running, or waiting for a slot or for the writer) beyond which an
        # overloaded engine skips slots rather than piling up waiting tasks.
        self.scheduler = Scheduler(
            clock,
            self._scheduled_check,
            max_in_flight=IN_FLIGHT_PER_SLOT * settings.check_concurrency,
        )
        self.calendar = MaintenanceCalendar(database)
        self._live: dict[int, MonitorLive] = {}
        self._current: dict[int, MonitorSnapshot] = {}  # the latest config of each monitor
        self._identity: dict[int, dict[str, Any]] = {}
        self._loop: asyncio.Task[None] | None = None
        registry = registry or CollectorRegistry()
        self.metrics = EngineMetrics(registry)
        self.organization_labels: dict[int, str] = {}  # filled by each /metrics scrape
        registry.register(MonitorCollector(self._metric_rows, self.organization_labels))
        registry.register(SkippedSlotsCollector(lambda: self.scheduler.skipped))

    async def start(self, *, schedule_checks: bool, heartbeats: bool = True) -> None:
        """`heartbeats=False` for a worker process: pings arrive at, and deadlines are
        watched by, the API processes."""
        self.calendar.start()
        self.writer.start()
        if heartbeats:
            self.pings.start()
            self.deadlines.start()
        if schedule_checks:
            self._loop = asyncio.create_task(self._schedule(), name="scheduler")

    async def _schedule(self) -> None:
        """Load the monitors (retrying while the database is unreachable: the API still
        serves and /health/ready says why), then run the scheduler."""
        # Live states are read from the database: first let the writer store what a previous
        # run could not (its spool), or they would be stale and a state change told twice.
        await self.writer.caught_up.wait()
        while True:
            try:
                await self._load_all()
                break
            except Exception as exc:
                log.warning("engine.load_failed", error=repr(exc), retry_in=LOAD_RETRY_SECONDS)
                await asyncio.sleep(LOAD_RETRY_SECONDS)
        log.info("engine.started", monitors=len(self.scheduler))
        await self.scheduler.run()

    async def stop(self) -> None:
        self.runner.close()
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
        await self.scheduler.drain(DRAIN_SECONDS)
        await self.deadlines.stop()
        await self.pings.stop()
        await self.writer.stop()
        await self.calendar.stop()

    async def _load_all(self) -> set[int]:
        """Adopt every schedulable monitor of this process's shard; returns their ids."""
        after, loaded = 0, set()
        shard = (self.shard.index, self.shard.count)
        while True:
            async with self._database.session() as session:
                page = await repository.schedulable(
                    session, after_id=after, limit=LOAD_PAGE, shard=shard
                )
            for monitor, state in page:
                self._adopt(monitor, state)
                loaded.add(monitor.id)
            if len(page) < LOAD_PAGE:
                return loaded
            after = page[-1][0].id

    async def resync(self) -> None:
        """Reload every monitor, after changes may have gone unannounced (a worker whose
        change listener was disconnected)."""
        loaded = await self._load_all()
        for monitor_id in self.scheduler.monitor_ids() - loaded:
            self._forget(monitor_id)
        log.info("engine.resynced", monitors=len(self.scheduler))

    def _forget(self, monitor_id: int) -> None:
        self.scheduler.remove(monitor_id)
        self._live.pop(monitor_id, None)
        self._current.pop(monitor_id, None)
        self._identity.pop(monitor_id, None)

    def _metric_rows(self) -> Iterator[tuple[dict[str, Any], Any, float | None]]:
        for monitor_id, identity in list(self._identity.items()):
            live = self._live.get(monitor_id)
            if live is not None:
                yield identity, live.status, live.last_latency_ms

    def _remember(self, monitor: Monitor, state: MonitorState) -> MonitorSnapshot:
        self._identity[monitor.id] = {
            "monitor_id": str(monitor.public_id),
            "name": monitor.name,
            "kind": monitor.kind,
            "organization_id": monitor.organization_id,
        }
        self._live.setdefault(monitor.id, MonitorLive.from_state(state))
        snapshot = snapshot_of(monitor, self._store)
        self._current[monitor.id] = snapshot
        return snapshot

    def _adopt(self, monitor: Monitor, state: MonitorState) -> MonitorSnapshot:
        snapshot = self._remember(monitor, state)
        current = self.scheduler.slot_of(monitor.id)
        keep = current if current is not None and state.next_run_at is not None else None
        self.scheduler.place(snapshot, keep or state.next_run_at)
        return snapshot

    async def refresh(self, monitor_ids: Iterable[int]) -> None:
        """Apply edits, pauses, resumes and deletions at once (to the monitors of this
        process's shard)."""
        for monitor_id in monitor_ids:
            if not self.shard.owns(monitor_id):
                continue
            async with self._database.session() as session:
                found = await repository.with_state(session, monitor_id)
            if found is None:
                self._forget(monitor_id)
                continue
            monitor, state = found
            if state.next_run_at is None:  # resumed or interval changed: a fresh slot
                self.scheduler.remove(monitor_id)
            live = self._live.get(monitor_id)
            if live is not None:
                live.status = MonitorLive.from_state(state).status  # the API may have paused it
            self._adopt(monitor, state)

    async def _scheduled_check(self, snapshot: MonitorSnapshot, slot: datetime) -> None:
        await self.writer.room()  # backpressure: see writer.MAX_PENDING
        with contextlib.suppress(ClosedError):  # stopping: this slot is skipped
            await self._execute(snapshot, slot, wait=False, scheduled=True)

    async def run_now(self, monitor_id: int) -> CheckRecord:
        """Check a monitor at once (on-demand or not) and return once it is recorded."""
        async with self._database.session() as session:
            found = await repository.with_state(session, monitor_id)
        if found is None:
            raise LookupError(monitor_id)
        monitor, state = found
        snapshot = self._remember(monitor, state)
        record = await self._execute(snapshot, self._clock.now(), wait=True, scheduled=False)
        if record is None:
            raise LookupError(monitor_id)
        return record

    async def _execute(
        self, snapshot: MonitorSnapshot, scheduled_at: datetime, *, wait: bool, scheduled: bool
    ) -> CheckRecord | None:
        observation = await self.runner.check(snapshot, self._clock.now, scheduled=scheduled)
        checked_at = observation.at
        if scheduled:  # lateness: when it really started (after any wait for a slot)
            self.metrics.lateness.observe(max(0.0, (checked_at - scheduled_at).total_seconds()))
        # Judge by the monitor as it is now: it may have been paused, edited or deleted
        # while the check ran.
        current, live = self._current.get(snapshot.id), self._live.get(snapshot.id)
        if current is None or live is None:
            return None  # deleted meanwhile: nothing to record
        if not current.maintenance and self.calendar.covers(
            current.organization_id, current.id, checked_at
        ):
            current = replace(current, maintenance=True)
        record = evaluate(
            current,
            live,
            observation,
            scheduled_at=scheduled_at,
            next_run_at=self.scheduler.slot_of(snapshot.id),
        )
        self.metrics.checks.labels(snapshot.kind, observation.error_code or "ok").inc()
        written = self.writer.submit(record)
        if wait:
            await written
        else:  # the writer logs a failed batch; nothing else waits for this one
            written.add_done_callback(lambda done: done.cancelled() or done.exception())
        return record
