"""A window is tiled exactly by day, hour and minute buckets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from upwatch.monitors.stats import DAY, HOUR, MINUTE, cover, floor_to

BASE = datetime(2026, 1, 1, tzinfo=UTC)


@given(st.integers(0, 400 * 24 * 60), st.integers(0, 100 * 24 * 60))
def test_the_ranges_tile_the_window_without_gaps_or_overlaps(
    start_minute: int, length_minutes: int
) -> None:
    start = BASE + timedelta(minutes=start_minute)
    end = start + timedelta(minutes=length_minutes)
    ranges = cover(start, end)
    cursor = start
    for resolution, first, last in ranges:
        assert first == cursor
        assert first == floor_to(first, resolution)
        assert last == floor_to(last, resolution) or resolution == MINUTE
        cursor = last
    assert cursor == end or (not ranges and start == end)


def test_a_long_window_uses_days_in_the_middle() -> None:
    start = BASE + timedelta(hours=5, minutes=30)
    end = start + timedelta(days=30)
    resolutions = [resolution for resolution, _, _ in cover(start, end)]
    assert resolutions == [MINUTE, HOUR, DAY, HOUR, MINUTE]
