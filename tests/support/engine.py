"""Helpers for engine tests: clocks to move time, monitors made through the service, what
the engine stored, and bounded polling."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import delete, select

from upwatch.audit.service import Actor, Source
from upwatch.core.clock import Clock, SystemClock
from upwatch.core.ids import uuid7
from upwatch.crypto import SecretBox
from upwatch.db.engine import Database
from upwatch.db.unit_of_work import unit_of_work
from upwatch.engine.checks.snapshot import MonitorSnapshot, snapshot_of
from upwatch.engine.engine import Engine
from upwatch.engine.ingest.evaluate import CheckRecord, MonitorLive, evaluate
from upwatch.engine.ingest.observation import HttpFacts, Observation
from upwatch.events import MemoryEventBus
from upwatch.events.bus import Event, Subscription
from upwatch.models import CheckResult, CheckRollup, Monitor, MonitorState, Organization
from upwatch.models.state_change import StateChange
from upwatch.monitors import repository, service
from upwatch.monitors.policy import Thresholds
from upwatch.monitors.schemas import MonitorCreate
from upwatch.monitors.secrets import SecretStore
from upwatch.probes.registry import parse_config
from upwatch.settings import Settings
from upwatch.subjects import SubjectKind, SubjectRef

T = TypeVar("T")
SYSTEM = Actor(source=Source.SYSTEM)
RULES = service.Rules(min_interval_seconds=1, allow_unverified_concurrency=False)
INSTANCE_KEY = "engine-tests-instance-key-0123456789abcdef"
WAIT_SECONDS = 15.0


class ManualClock:
    """A clock that stands still until the test moves it."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> datetime:
        self._now = moment
        return moment

    def advance(self, seconds: float) -> datetime:
        return self.set(self._now + timedelta(seconds=seconds))


class ShiftedClock:
    """The real time, shifted: a process that starts `offset` after the previous one."""

    def __init__(self, offset: timedelta) -> None:
        self._real = SystemClock()
        self._offset = offset

    def now(self) -> datetime:
        return self._real.now() + self._offset


def secret_store() -> SecretStore:
    return SecretStore(SecretBox(INSTANCE_KEY, "monitor-secrets"))


_snapshot_ids = itertools.count(1_000_000)


def snapshot(
    *, interval_seconds: int = 60, monitor_id: int | None = None, active: bool = True
) -> MonitorSnapshot:
    """A monitor as the scheduler sees it, without a database."""
    return MonitorSnapshot(
        id=next(_snapshot_ids) if monitor_id is None else monitor_id,
        public_id=uuid7(),
        organization_id=1,
        name="scheduled",
        kind="http",
        target="http://127.0.0.1:9/",
        host="127.0.0.1",
        config=parse_config({"kind": "http"}),
        interval_seconds=interval_seconds,
        timeout_seconds=1.0,
        concurrency=1,
        thresholds=Thresholds(),
        spike_threshold_percent=100.0,
        spike_min_diff_ms=100.0,
        spike_consecutive=3,
        maintenance=False,
        active=active,
        scheduled=active,
    )


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, within: float = WAIT_SECONDS
) -> T:
    """Poll `probe` until it returns something (not None, not False), for at most `within` s."""
    async with asyncio.timeout(within):
        while True:
            found = await probe()
            if found is not None and found is not False:
                return found
            await asyncio.sleep(0.05)


@dataclass
class World:
    """A database with one organization, the monitor secrets, and an event bus."""

    database: Database
    settings: Settings
    organization_id: int
    store: SecretStore = field(default_factory=secret_store)
    bus: MemoryEventBus = field(default_factory=MemoryEventBus)

    def engine(self, clock: Clock | None = None) -> Engine:
        return Engine(self.database, self.settings, self.store, self.bus, clock or SystemClock())

    async def monitor(self, target: str, **fields: Any) -> Monitor:
        values: dict[str, Any] = {
            "name": "engine test",
            "kind": "http",
            "target": target,
            "interval_seconds": 1,
            "timeout_ms": 800,
        }
        values.update(fields)
        async with unit_of_work(self.database) as session:
            return await service.create(
                session,
                SYSTEM,
                self.store,
                RULES,
                organization_id=self.organization_id,
                data=MonitorCreate(**values),
                now=SystemClock().now(),
            )

    async def set_active(self, monitor: Monitor, active: bool) -> None:
        async with unit_of_work(self.database) as session:
            row = await service.find(session, self.organization_id, monitor.public_id)
            await service.set_active(session, SYSTEM, row, active, SystemClock().now())

    async def remove(self, monitor: Monitor) -> None:
        async with unit_of_work(self.database) as session:
            row = await service.find(session, self.organization_id, monitor.public_id)
            await service.remove(session, SYSTEM, row, SystemClock().now())

    async def delete_row(self, monitor: Monitor) -> None:
        """Delete the monitor's row (its state and results go with it), as any deletion
        would in the end."""
        async with unit_of_work(self.database) as session:
            await session.execute(delete(Monitor).where(Monitor.id == monitor.id))

    async def state(self, monitor_id: int) -> MonitorState:
        async with self.database.session() as session:
            found = await repository.with_state(session, monitor_id)
        assert found is not None
        return found[1]

    async def results(self, monitor_id: int) -> list[CheckResult]:
        async with self.database.session() as session:
            rows = await session.execute(
                select(CheckResult)
                .where(CheckResult.monitor_id == monitor_id)
                .order_by(CheckResult.checked_at)
            )
            return list(rows.scalars())

    async def state_changes(self, monitor_id: int) -> list[StateChange]:
        async with self.database.session() as session:
            rows = await session.execute(
                select(StateChange)
                .where(StateChange.monitor_id == monitor_id)
                .order_by(StateChange.created_at)
            )
            return list(rows.scalars())

    async def rollups(self, monitor_id: int) -> list[CheckRollup]:
        async with self.database.session() as session:
            rows = await session.execute(
                select(CheckRollup).where(CheckRollup.monitor_id == monitor_id)
            )
            return list(rows.scalars())

    async def results_reaching(self, monitor_id: int, count: int) -> list[CheckResult]:
        """Wait until the monitor has at least `count` stored results."""

        async def enough() -> list[CheckResult] | None:
            found = await self.results(monitor_id)
            return found if len(found) >= count else None

        return await eventually(enough)


async def organization_id_of(database: Database, public_id: UUID) -> int:
    async with database.session() as session:
        found = await session.execute(
            select(Organization.id).where(Organization.public_id == public_id)
        )
        return int(found.scalar_one())


@asynccontextmanager
async def running(engine: Engine, *, schedule_checks: bool = True) -> AsyncIterator[Engine]:
    """The engine started, and stopped (running checks drained, results flushed) after."""
    await engine.start(schedule_checks=schedule_checks)
    try:
        yield engine
    finally:
        await engine.stop()


async def received(subscription: Subscription) -> list[Event]:
    """Every event already delivered to `subscription`."""
    events = []
    while (event := await subscription.next(0.05)) is not None:
        events.append(event)
    return events


async def loaded(world: World, monitor: Monitor) -> tuple[MonitorSnapshot, MonitorLive]:
    """What the engine would hold for `monitor`: its snapshot and its live state."""
    async with world.database.session() as session:
        found = await repository.with_state(session, monitor.id)
    assert found is not None
    return snapshot_of(found[0], world.store), MonitorLive.from_state(found[1])


def observation(monitor_id: int, ok: bool, latency_ms: float | None, at: datetime) -> Observation:
    subject = SubjectRef(SubjectKind.MONITOR, monitor_id)
    if ok:
        return Observation(subject, at, True, latency_ms, None, "", http=HttpFacts(200))
    return Observation(
        subject, at, False, latency_ms, "HTTP_STATUS", "status 500, expected 2xx",
        http=HttpFacts(500),
    )  # fmt: skip


async def records_for(
    world: World, monitor: Monitor, checks: list[tuple[bool, float | None, datetime]]
) -> list[CheckRecord]:
    """The records the engine would make of these checks (ok, latency, time), in time order."""
    monitor_snapshot, live = await loaded(world, monitor)
    return [
        evaluate(
            monitor_snapshot,
            live,
            observation(monitor.id, ok, latency_ms, at),
            scheduled_at=at,
            next_run_at=None,
        )
        for ok, latency_ms, at in sorted(checks, key=lambda check: check[2])
    ]
