"""A fixed latency histogram, so percentiles come from rollups instead of raw results.

Bucket upper bounds grow by about 10 % from 0.1 ms to 120 s (plus an overflow bucket), so a
percentile read from the histogram is within ~10 % of the exact one, and rollups of any
period merge by adding counts. The bounds never change: stored histograms depend on them.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence

GROWTH = 1.1
FIRST_BOUND_MS = 0.1
LAST_BOUND_MS = 120_000.0


def _bounds() -> tuple[float, ...]:
    bounds = []
    value = FIRST_BOUND_MS
    while value < LAST_BOUND_MS:
        bounds.append(round(value, 3))
        value *= GROWTH
    bounds.append(LAST_BOUND_MS)
    return tuple(bounds)


BOUNDS_MS: tuple[float, ...] = _bounds()
SIZE = len(BOUNDS_MS) + 1  # the last bucket holds everything above LAST_BOUND_MS


def bucket_of(latency_ms: float) -> int:
    return bisect.bisect_left(BOUNDS_MS, latency_ms)


def empty() -> list[int]:
    return [0] * SIZE


def add(histogram: list[int], latency_ms: float) -> None:
    histogram[bucket_of(latency_ms)] += 1


def merge(histograms: Iterable[Sequence[int]]) -> list[int]:
    total = empty()
    for histogram in histograms:
        for index, count in enumerate(histogram):
            total[index] += count
    return total


def percentile(histogram: Sequence[int], q: float, *, low: float, high: float) -> float | None:
    """The q-th percentile (0-100), as the upper bound of its bucket clamped to the observed
    [low, high] range (exact for the minimum and maximum, ~10 % in between)."""
    count = sum(histogram)
    if count == 0:
        return None
    rank = max(1, math.ceil(q / 100 * count))
    seen = 0
    for index, bucket_count in enumerate(histogram):
        seen += bucket_count
        if seen >= rank:
            bound = BOUNDS_MS[index] if index < len(BOUNDS_MS) else high
            return min(max(bound, low), high)
    return high


def compact(histogram: Sequence[int]) -> dict[str, int]:
    """Sparse form for storage: only non-empty buckets, keyed by index."""
    return {str(index): count for index, count in enumerate(histogram) if count}


# Sparse counts ({bucket index: count}) for the rollups being written: a check touches one
# bucket, and copying or storing 150 mostly empty slots for each of its three rollups was a
# seventh of a busy worker's CPU.


def add_sparse(counts: dict[int, int], latency_ms: float) -> None:
    index = bucket_of(latency_ms)
    counts[index] = counts.get(index, 0) + 1


def compact_sparse(counts: dict[int, int]) -> dict[str, int]:
    """The stored form (as `compact` makes it) of sparse counts."""
    return {str(index): counts[index] for index in sorted(counts) if counts[index]}


def parse_sparse(stored: dict[str, int] | None) -> dict[int, int]:
    return {int(index): count for index, count in (stored or {}).items() if count}


def merge_stored(stored: Iterable[dict[str, int] | None]) -> list[int]:
    """The sum of stored (sparse) histograms, without expanding each: a minute rollup holds
    one or two buckets of 150, and a 24-hour timeline merges 1,440 of them."""
    total = empty()
    for counts in stored:
        for index, count in (counts or {}).items():
            total[int(index)] += count
    return total


def expand(stored: dict[str, int] | None) -> list[int]:
    histogram = empty()
    for index, count in (stored or {}).items():
        histogram[int(index)] += count
    return histogram
