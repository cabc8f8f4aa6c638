"""Statistics equal those computed from raw data: rollups written by the result writer,
read back for windows of any minute-aligned edges, against the stored raw results."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tests.support.engine import World, records_for
from upwatch.engine.ingest.rollups import Rollup, RollupCache, keys_for
from upwatch.engine.ingest.writer import ResultWriter
from upwatch.models import CheckResult
from upwatch.monitors import stats

FIRST = datetime(2026, 3, 1, 21, 47, 13, 250_000, tzinfo=UTC)  # late in a day, mid-hour
DAYS = 3
MINUTES = DAYS * 24 * 60
# Two days and a bit, with ragged edges: minutes, then hours, then whole days, then back.
RAGGED = (
    stats.floor_to(FIRST, stats.MINUTE) + timedelta(minutes=5),
    stats.floor_to(FIRST, stats.MINUTE) + timedelta(days=2, hours=3, minutes=22),
)
SLACK_MS = 0.002  # histogram bounds are rounded to 3 decimals


@dataclass(frozen=True)
class Feed:
    checks: list[tuple[bool, float | None, datetime]]
    batch_sizes: list[int]
    restarts: list[bool]  # a new writer (nothing cached) before each batch
    shuffle: int | None  # the order results reach the writer (None: time order)
    windows: list[tuple[datetime, datetime]]


@st.composite
def feeds(draw: st.DrawFn) -> Feed:
    """Checks clustered around a few moments of a few days, so buckets hold several."""
    anchors = draw(st.lists(st.integers(0, MINUTES), min_size=1, max_size=5))
    count = draw(st.integers(0, 60))
    offsets = draw(
        st.lists(
            st.tuples(st.sampled_from(anchors), st.integers(-7_200_000, 7_200_000)),
            min_size=count,
            max_size=count,
            unique_by=lambda pair: pair[0] * 60_000 + pair[1],
        )
    )
    checks = []
    for anchor, jitter_ms in offsets:
        ok = draw(st.booleans() | st.just(True))
        latency = draw(st.floats(0.5, 60_000, allow_nan=False, allow_infinity=False))
        kept = ok or draw(st.booleans())  # some failures have a latency (an HTTP 500)
        at = FIRST + timedelta(milliseconds=anchor * 60_000 + jitter_ms)
        checks.append((ok, latency if kept else None, at))
    windows = [RAGGED]
    for _ in range(3):
        start = draw(st.integers(-180, MINUTES + 180))
        length = draw(st.integers(0, MINUTES))
        first = stats.floor_to(FIRST, stats.MINUTE) + timedelta(minutes=start)
        windows.append((first, first + timedelta(minutes=length)))
    return Feed(
        checks=checks,
        batch_sizes=draw(st.lists(st.integers(1, 25), min_size=1, max_size=4)),
        restarts=draw(st.lists(st.booleans(), min_size=4, max_size=4)),
        shuffle=draw(st.none() | st.integers(0, 2**32)),
        windows=windows,
    )


def test_the_ragged_window_uses_minutes_hours_and_days() -> None:
    resolutions = [resolution for resolution, _, _ in stats.cover(*RAGGED)]
    assert resolutions == [stats.MINUTE, stats.HOUR, stats.DAY, stats.HOUR, stats.MINUTE]


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(feed=feeds())
async def test_statistics_from_rollups_equal_those_from_raw_results(
    world: World, feed: Feed
) -> None:
    monitor = await world.monitor("http://127.0.0.1:9/rolled-up")
    records = await records_for(world, monitor, feed.checks)
    if feed.shuffle is not None:
        random.Random(feed.shuffle).shuffle(records)

    writer = ResultWriter(world.database, world.bus)
    sizes, restarts, position = iter(feed.batch_sizes * 100), iter(feed.restarts * 100), 0
    while position < len(records):
        if next(restarts):
            writer = ResultWriter(world.database, world.bus)
        size = next(sizes)
        for record in records[position : position + size]:
            writer.submit(record)
        await writer.flush()
        position += size

    for start, end in feed.windows:
        async with world.database.session() as session:
            rollups = await stats.rollups_between(session, monitor.id, start, end)
            raw = await session.execute(
                select(CheckResult).where(
                    CheckResult.monitor_id == monitor.id,
                    CheckResult.checked_at >= start,
                    CheckResult.checked_at < end,
                )
            )
        assert_summary_matches(stats.total(rollups).summary(), list(raw.scalars()))


def assert_summary_matches(summary: dict[str, object], raw: list[CheckResult]) -> None:
    failures = sum(1 for row in raw if not row.ok)
    latencies = sorted(row.latency_ms for row in raw if row.ok and row.latency_ms is not None)
    assert summary["checks"] == len(raw)
    assert summary["failures"] == failures
    expected_uptime = round((len(raw) - failures) / len(raw) * 100, 3) if raw else None
    assert summary["uptime_percent"] == expected_uptime
    if not latencies:
        assert [summary[k] for k in ("min_ms", "max_ms", "avg_ms", "p50_ms", "p99_ms")] == [
            None
        ] * 5
        return
    low, high = latencies[0], latencies[-1]
    assert (summary["min_ms"], summary["max_ms"]) == (low, high)
    assert summary["avg_ms"] == pytest.approx(sum(latencies) / len(latencies), abs=0.005 + 1e-9)
    for q in (50, 95, 99):
        exact = latencies[max(1, math.ceil(q / 100 * len(latencies))) - 1]
        reported = summary[f"p{q}_ms"]
        assert isinstance(reported, float)
        # The upper bound of the exact value's bucket, ≤ 10 % above it, clamped to [min, max].
        assert low <= reported <= high
        assert exact <= reported <= exact * 1.1 + SLACK_MS


def test_the_rollup_cache_keeps_open_buckets_and_drops_those_that_ended() -> None:
    cache = RollupCache()
    noon = datetime(2026, 3, 2, 12, 0, 30, tzinfo=UTC)
    first = {key: Rollup(checks=1) for key in keys_for(1, noon)}
    cache.store(first)
    later = noon + timedelta(minutes=1)
    cache.store({key: Rollup(checks=2) for key in keys_for(2, later)})

    cache.forget_before(noon + timedelta(minutes=2, seconds=5))  # 12:00 ended over 1 min ago

    minute, hour, day = keys_for(1, noon)
    assert cache.missing({minute, hour, day}) == {minute}
    assert cache.copy_of(hour).checks == 1
    assert cache.missing(set(keys_for(2, later))) == set()
    # A late result for the dropped minute reloads it, and it is dropped again in turn.
    cache.load(minute, Rollup(checks=5))
    assert cache.copy_of(minute).checks == 5
    cache.forget_before(noon + timedelta(minutes=3))
    assert cache.missing({minute, *keys_for(2, later)}) == {minute, keys_for(2, later)[0]}
