"""A heap of next-due times: wakes at the earliest, starts the due checks, reschedules them
at their next fixed-rate slot. Changes (edits, pauses, deletes) take effect at once: a
rescheduled monitor's old heap entry is recognised as stale and skipped."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from upwatch.core.clock import Clock
from upwatch.core.waiting import wait_for_event
from upwatch.engine.checks import schedule
from upwatch.engine.checks.snapshot import MonitorSnapshot

# Up to this much is added to each start, so monitors sharing a slot do not start in
# lockstep (the phase already spreads them; this breaks exact ties).
JITTER_SECONDS = 0.05
IDLE_WAKE_SECONDS = 1.0
# A slot missed by at most this much is run at once, late, rather than skipped: a worker
# killed and replaced by its supervisor (well under a second) then misses no slot. Slots
# missed while stopped for longer are skipped, so that nothing bursts after a restart.
CATCH_UP_SECONDS = 2.0

Launch = Callable[[MonitorSnapshot, datetime], Awaitable[None]]


class Scheduler:
    def __init__(self, clock: Clock, launch: Launch, *, max_in_flight: int | None = None) -> None:
        """`max_in_flight`: checks started and not finished (running, or waiting for a
        concurrency slot or for the writer) beyond which a due slot is skipped. An overloaded
        process then skips slots, counted in `skipped`, instead of piling up a waiting task
        for every due monitor (1.7 GB at 100,000 monitors on this machine)."""
        self._clock = clock
        self._launch = launch
        self._max_in_flight = max_in_flight
        self.skipped = 0
        self._heap: list[tuple[datetime, int, int]] = []
        self._due: dict[int, datetime] = {}  # monitor id -> its current slot
        self._snapshots: dict[int, MonitorSnapshot] = {}
        self._running: set[int] = set()
        self._order = itertools.count()
        self._changed = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._due)

    def monitor_ids(self) -> set[int]:
        return set(self._due)

    def slot_of(self, monitor_id: int) -> datetime | None:
        return self._due.get(monitor_id)

    def place(self, snapshot: MonitorSnapshot, persisted_next: datetime | None) -> datetime | None:
        """Schedule (or reschedule) a monitor; returns its next slot (None if not scheduled)."""
        if not snapshot.scheduled:
            self.remove(snapshot.id)
            return None
        now = self._clock.now()
        if persisted_next is None:
            slot = schedule.first_slot(snapshot.public_id, snapshot.interval_seconds, now)
        elif persisted_next >= now - timedelta(seconds=CATCH_UP_SECONDS):
            slot = persisted_next  # due, or missed by a moment: run now (late)
        else:  # missed while stopped or paused: the next slot of its phase, no burst
            slot = schedule.next_slot(persisted_next, snapshot.interval_seconds, now)
        self._snapshots[snapshot.id] = snapshot
        self._push(snapshot.id, slot)
        return slot

    def remove(self, monitor_id: int) -> None:
        self._due.pop(monitor_id, None)
        self._snapshots.pop(monitor_id, None)

    def _push(self, monitor_id: int, slot: datetime, *, first: bool = False) -> None:
        self._due[monitor_id] = slot
        order = next(self._order)
        heapq.heappush(self._heap, (slot, -order if first else order, monitor_id))
        self._changed.set()

    async def run(self) -> None:
        while True:
            await self._sleep_until_due()
            now = self._clock.now()
            while self._heap and self._heap[0][0] <= now:
                slot, _, monitor_id = heapq.heappop(self._heap)
                if self._due.get(monitor_id) != slot:
                    continue  # stale: rescheduled or removed since
                self._start(monitor_id, slot, now)

    def _start(self, monitor_id: int, slot: datetime, now: datetime) -> None:
        snapshot = self._snapshots[monitor_id]
        following = schedule.next_slot(slot, snapshot.interval_seconds, now)
        if monitor_id in self._running:
            self._push(monitor_id, following)
            return  # still running (a timeout close to the interval): skip this slot
        if self._max_in_flight is not None and len(self._running) >= self._max_in_flight:
            # Overloaded: this slot is lost, the next one stands, ahead of monitors due at
            # the same moment (so that the same ones are not skipped every time).
            self.skipped += 1
            self._push(monitor_id, following, first=True)
            return
        self._push(monitor_id, following)
        self._running.add(monitor_id)
        task = asyncio.create_task(self._run_one(snapshot, slot))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_one(self, snapshot: MonitorSnapshot, slot: datetime) -> None:
        try:
            await asyncio.sleep(random.uniform(0, JITTER_SECONDS))  # noqa: S311 - not security
            await self._launch(snapshot, slot)
        finally:
            self._running.discard(snapshot.id)

    async def _sleep_until_due(self) -> None:
        self._changed.clear()
        wait = IDLE_WAKE_SECONDS
        if self._heap:
            wait = max(0.0, (self._heap[0][0] - self._clock.now()).total_seconds())
        if wait > 0:
            await wait_for_event(self._changed, min(wait, IDLE_WAKE_SECONDS))

    async def drain(self, limit_seconds: float) -> None:
        """Let running checks finish (up to `limit_seconds`), then cancel the rest."""
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=limit_seconds)
            for task in pending:
                task.cancel()
