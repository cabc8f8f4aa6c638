"""The scheduler on an injected clock: spread, fixed rate, changes at once, no burst."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.engine import ManualClock, snapshot
from upwatch.engine.checks.schedule import first_slot
from upwatch.engine.checks.scheduler import Scheduler
from upwatch.engine.checks.snapshot import MonitorSnapshot

NOW = datetime(2026, 11, 22, 12, 0, 7, 250_000, tzinfo=UTC)
WAIT = 5.0


def seconds(amount: float) -> timedelta:
    return timedelta(seconds=amount)


class Launches:
    """The launch callback: records (monitor id, slot); `hold` makes a monitor's checks
    last until `release` is set."""

    def __init__(self) -> None:
        self.started: list[tuple[int, datetime]] = []
        self.hold: set[int] = set()
        self.release = asyncio.Event()
        self._arrived = asyncio.Condition()

    async def __call__(self, monitor: MonitorSnapshot, slot: datetime) -> None:
        async with self._arrived:
            self.started.append((monitor.id, slot))
            self._arrived.notify_all()
        if monitor.id in self.hold:
            await self.release.wait()

    def slots_of(self, monitor: MonitorSnapshot) -> list[datetime]:
        return [slot for monitor_id, slot in self.started if monitor_id == monitor.id]

    async def wait_for(self, monitor: MonitorSnapshot, slot: datetime) -> None:
        async with asyncio.timeout(WAIT), self._arrived:
            await self._arrived.wait_for(lambda: (monitor.id, slot) in self.started)


class Harness:
    def __init__(self) -> None:
        self.clock = ManualClock(NOW)
        self.launches = Launches()
        self.scheduler = Scheduler(self.clock, self.launches)

    async def reach(self, moment: datetime, *, settle: bool = True) -> None:
        """Move the clock to `moment` and let the scheduler start everything due by then.

        A marker monitor due at `moment` wakes the scheduler; the scheduler starts all due
        slots in one pass, in slot order, so once the marker has started every earlier slot
        has been seen. `settle` then waits for the checks started in that pass.
        """
        self.clock.set(moment)
        marker = snapshot(interval_seconds=86400)
        self.scheduler.place(marker, moment)
        await self.launches.wait_for(marker, moment)
        self.scheduler.remove(marker.id)
        if settle:
            await self.scheduler.drain(WAIT)

    def started(self, *monitors: MonitorSnapshot) -> list[tuple[int, datetime]]:
        ids = {monitor.id for monitor in monitors}
        return [
            (monitor_id, slot) for monitor_id, slot in self.launches.started if monitor_id in ids
        ]


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    harness = Harness()
    loop = asyncio.create_task(harness.scheduler.run())
    try:
        yield harness
    finally:
        loop.cancel()
        harness.launches.release.set()
        await harness.scheduler.drain(WAIT)
        with pytest.raises(asyncio.CancelledError):
            await loop


def test_monitors_of_one_interval_get_first_slots_spread_over_the_interval() -> None:
    scheduler = Scheduler(ManualClock(NOW), Launches())
    slots = [scheduler.place(snapshot(interval_seconds=60), None) for _ in range(300)]
    assert all(slot is not None and NOW <= slot < NOW + seconds(60) for slot in slots)
    assert len(set(slots)) == len(slots)
    tenths = Counter(int((slot - NOW).total_seconds() // 6) for slot in slots if slot)
    assert set(tenths) == set(range(10))


async def test_each_monitor_is_started_at_its_own_slot(harness: Harness) -> None:
    monitors = [snapshot(interval_seconds=10) for _ in range(20)]
    slots = {monitor.id: harness.scheduler.place(monitor, None) for monitor in monitors}
    await harness.reach(NOW + seconds(10))
    assert sorted(harness.started(*monitors)) == sorted(slots.items())


async def test_a_long_check_does_not_shift_the_next_slot(harness: Harness) -> None:
    monitor = snapshot(interval_seconds=60)
    harness.launches.hold.add(monitor.id)
    harness.scheduler.place(monitor, NOW)
    await harness.reach(NOW, settle=False)
    await harness.launches.wait_for(monitor, NOW)
    assert harness.scheduler.slot_of(monitor.id) == NOW + seconds(60)

    harness.clock.set(NOW + seconds(40))  # the check took 40 s
    harness.launches.release.set()
    await harness.reach(NOW + seconds(60))
    await harness.reach(NOW + seconds(120))

    assert harness.launches.slots_of(monitor) == [NOW, NOW + seconds(60), NOW + seconds(120)]


async def test_a_check_still_running_at_its_next_slot_skips_that_slot(harness: Harness) -> None:
    monitor = snapshot(interval_seconds=60)
    harness.launches.hold.add(monitor.id)
    harness.scheduler.place(monitor, NOW)
    await harness.reach(NOW, settle=False)
    await harness.launches.wait_for(monitor, NOW)

    await harness.reach(NOW + seconds(60), settle=False)  # still running: no second check
    harness.launches.release.set()
    await harness.reach(NOW + seconds(120))

    assert harness.launches.slots_of(monitor) == [NOW, NOW + seconds(120)]


async def test_a_removed_monitor_is_not_started_at_its_queued_slot(harness: Harness) -> None:
    removed, kept = snapshot(interval_seconds=60), snapshot(interval_seconds=60)
    harness.scheduler.place(removed, NOW + seconds(10))
    harness.scheduler.place(kept, NOW + seconds(10))

    harness.scheduler.remove(removed.id)
    await harness.reach(NOW + seconds(15))

    assert harness.scheduler.slot_of(removed.id) is None
    assert harness.started(removed, kept) == [(kept.id, NOW + seconds(10))]


async def test_a_paused_monitor_leaves_the_schedule_at_once(harness: Harness) -> None:
    monitor = snapshot(interval_seconds=60)
    harness.scheduler.place(monitor, NOW + seconds(10))

    assert harness.scheduler.place(replace(monitor, active=False, scheduled=False), None) is None
    await harness.reach(NOW + seconds(15))

    assert harness.scheduler.slot_of(monitor.id) is None
    assert harness.started(monitor) == []
    assert len(harness.scheduler) == 0


async def test_placing_a_monitor_again_replaces_its_old_slot(harness: Harness) -> None:
    monitor = snapshot(interval_seconds=60)
    harness.scheduler.place(monitor, NOW + seconds(10))

    assert harness.scheduler.place(monitor, NOW + seconds(30)) == NOW + seconds(30)
    await harness.reach(NOW + seconds(15))
    assert harness.started(monitor) == []

    await harness.reach(NOW + seconds(30))
    assert harness.started(monitor) == [(monitor.id, NOW + seconds(30))]
    assert harness.scheduler.slot_of(monitor.id) == NOW + seconds(90)


async def test_a_new_interval_takes_effect_from_a_fresh_slot(harness: Harness) -> None:
    monitor = snapshot(interval_seconds=3600)
    harness.scheduler.place(monitor, NOW + seconds(1800))

    faster = replace(monitor, interval_seconds=10)
    fresh = harness.scheduler.place(faster, None)
    assert fresh == first_slot(monitor.public_id, 10, NOW)
    await harness.reach(fresh)
    await harness.reach(fresh + seconds(10))

    assert harness.started(monitor) == [(monitor.id, fresh), (monitor.id, fresh + seconds(10))]


async def test_after_a_restart_missed_slots_are_skipped_at_each_monitors_phase(
    harness: Harness,
) -> None:
    monitors = [snapshot(interval_seconds=60) for _ in range(50)]
    hours_ago = NOW - timedelta(hours=3)
    persisted = {monitor.id: first_slot(monitor.public_id, 60, hours_ago) for monitor in monitors}

    slots = {
        monitor.id: harness.scheduler.place(monitor, persisted[monitor.id]) for monitor in monitors
    }

    for monitor in monitors:
        slot = slots[monitor.id]
        assert slot is not None
        assert NOW <= slot < NOW + seconds(60)
        assert slot == first_slot(monitor.public_id, 60, NOW)
        assert (slot - persisted[monitor.id]).total_seconds() % 60 == 0
    await harness.reach(NOW)
    assert harness.started(*monitors) == []

    await harness.reach(NOW + seconds(60))
    assert sorted(harness.started(*monitors)) == sorted(slots.items())


async def test_a_slot_missed_by_a_moment_is_run_late_rather_than_skipped(
    harness: Harness,
) -> None:
    """A worker killed and replaced at once reloads a slot that passed while it was gone:
    that slot is checked now, not lost; one missed by longer is skipped as after a stop."""
    just_missed, long_missed = snapshot(interval_seconds=60), snapshot(interval_seconds=60)
    moment_ago, minute_ago = NOW - seconds(1), NOW - seconds(10)

    assert harness.scheduler.place(just_missed, moment_ago) == moment_ago
    skipped_to = harness.scheduler.place(long_missed, minute_ago)
    await harness.reach(NOW)

    assert harness.started(just_missed, long_missed) == [(just_missed.id, moment_ago)]
    assert skipped_to == minute_ago + seconds(60)
    assert harness.scheduler.slot_of(just_missed.id) == moment_ago + seconds(60)


async def test_an_overloaded_scheduler_skips_slots_instead_of_queueing_them() -> None:
    """Past `max_in_flight` unfinished checks a due slot is skipped (and counted); the
    monitor keeps its next slot, where it goes first, so the same ones are not always
    skipped."""
    clock, launches = ManualClock(NOW), Launches()
    scheduler = Scheduler(clock, launches, max_in_flight=3)
    monitors = [snapshot(interval_seconds=60) for _ in range(5)]
    for monitor in monitors:
        scheduler.place(monitor, NOW)
    loop = asyncio.create_task(scheduler.run())
    try:
        for monitor in monitors[:3]:  # all five are due now; three fit
            await launches.wait_for(monitor, NOW)
        await scheduler.drain(WAIT)
        # (in any order: each start waits a random jitter)
        assert {monitor_id for monitor_id, _ in launches.started} == {m.id for m in monitors[:3]}
        assert len(launches.started) == 3
        assert scheduler.skipped == 2
        assert all(scheduler.slot_of(monitor.id) == NOW + seconds(60) for monitor in monitors)

        clock.set(NOW + seconds(60))
        for monitor in monitors[3:]:  # the two skipped go first this time
            await launches.wait_for(monitor, NOW + seconds(60))
        await scheduler.drain(WAIT)
        assert scheduler.skipped == 4
    finally:
        loop.cancel()
        await scheduler.drain(WAIT)
        with pytest.raises(asyncio.CancelledError):
            await loop
