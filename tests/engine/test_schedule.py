"""Slots: spread over the interval, fixed rate, no burst after downtime."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st

from upwatch.core.ids import uuid7
from upwatch.engine.checks.schedule import first_slot, next_slot, phase_seconds

NOW = datetime(2026, 11, 22, 12, 0, 7, tzinfo=UTC)


def test_monitors_of_one_interval_spread_evenly_over_it() -> None:
    slots = [first_slot(uuid7(), 60, NOW) for _ in range(6000)]
    per_second = Counter(int((slot - NOW).total_seconds()) for slot in slots)
    assert set(per_second) <= set(range(60))
    # 100 per second on average; an even spread keeps every second near it.
    assert max(per_second.values()) < 160
    assert min(per_second.values()) > 50


@given(st.integers(min_value=10, max_value=86400), st.integers(min_value=0, max_value=10**8))
def test_the_first_slot_is_never_in_the_past_nor_beyond_one_interval(
    interval: int, offset: int
) -> None:
    now = NOW + timedelta(seconds=offset)
    slot = first_slot(uuid4(), interval, now)
    assert now <= slot < now + timedelta(seconds=interval)


def test_the_phase_is_stable_for_a_monitor() -> None:
    monitor = uuid4()
    assert phase_seconds(monitor, 300) == phase_seconds(monitor, 300)
    later = first_slot(monitor, 300, NOW + timedelta(hours=5))
    assert (later - first_slot(monitor, 300, NOW)).total_seconds() % 300 == 0


def test_fixed_rate_the_next_slot_is_one_interval_after_the_last() -> None:
    scheduled = NOW
    # The check took 40 s: the next slot is still 60 s after the scheduled one.
    assert next_slot(scheduled, 60, NOW + timedelta(seconds=40)) == NOW + timedelta(seconds=60)


def test_after_downtime_missed_slots_are_skipped_not_replayed() -> None:
    scheduled = NOW
    back = NOW + timedelta(minutes=10, seconds=5)
    upcoming = next_slot(scheduled, 60, back)
    assert upcoming == NOW + timedelta(minutes=11)  # the first slot of its phase after `back`
    assert (upcoming - scheduled).total_seconds() % 60 == 0
