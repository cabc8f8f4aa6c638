"""Statistics from rollups: a window is covered by whole days, whole hours and, at its
edges, minutes, so no query ever scans raw results and the figures are exact to the minute.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from upwatch.models import CheckRollup
from upwatch.monitors import histogram

MINUTE, HOUR, DAY = 60, 3600, 86400


def floor_to(moment: datetime, seconds: int) -> datetime:
    timestamp = moment.timestamp()
    return datetime.fromtimestamp(timestamp - timestamp % seconds, tz=moment.tzinfo)


def cover(start: datetime, end: datetime) -> list[tuple[int, datetime, datetime]]:
    """(resolution, first bucket, end) ranges tiling [start, end), both minute-aligned:
    days where whole days fit, hours where whole hours fit, minutes at the edges."""
    ranges: list[tuple[int, datetime, datetime]] = []
    cursor = start
    for resolution, coarser in ((MINUTE, HOUR), (HOUR, DAY)):  # rise to coarser buckets
        boundary = _ceil_to(cursor, coarser)
        if boundary > end:
            break
        if boundary > cursor:
            ranges.append((resolution, cursor, boundary))
            cursor = boundary
    for resolution in (DAY, HOUR, MINUTE):  # then the biggest that fit, down to the end
        aligned_end = floor_to(end, resolution)
        if aligned_end > cursor:
            ranges.append((resolution, cursor, aligned_end))
            cursor = aligned_end
    return ranges


def _ceil_to(moment: datetime, seconds: int) -> datetime:
    floored = floor_to(moment, seconds)
    return floored if floored == moment else floored + timedelta(seconds=seconds)


@dataclass(frozen=True, slots=True)
class Totals:
    checks: int
    failures: int
    maintenance_checks: int
    maintenance_failures: int
    latency_count: int
    latency_sum_ms: float
    min_ms: float | None
    max_ms: float | None
    histogram: list[int]

    def summary(self, *, exclude_maintenance: bool = False) -> dict[str, Any]:
        """The figures; with `exclude_maintenance`, checks made during maintenance count
        neither as checks nor as failures (response times still include them)."""
        counted, failures = self.checks, self.failures
        if exclude_maintenance:
            counted -= self.maintenance_checks
            failures -= self.maintenance_failures
        low, high = self.min_ms or 0.0, self.max_ms or 0.0
        return {
            "checks": counted,
            "failures": failures,
            "uptime_percent": round((counted - failures) / counted * 100, 3) if counted else None,
            "min_ms": self.min_ms,
            "max_ms": self.max_ms,
            "avg_ms": (
                round(self.latency_sum_ms / self.latency_count, 2) if self.latency_count else None
            ),
            "p50_ms": histogram.percentile(self.histogram, 50, low=low, high=high),
            "p95_ms": histogram.percentile(self.histogram, 95, low=low, high=high),
            "p99_ms": histogram.percentile(self.histogram, 99, low=low, high=high),
        }  # fmt: skip


class Figures(Protocol):
    """What statistics read of a rollup row."""

    @property
    def bucket_start(self) -> datetime: ...
    @property
    def checks(self) -> int: ...
    @property
    def failures(self) -> int: ...
    @property
    def maintenance_checks(self) -> int: ...
    @property
    def maintenance_failures(self) -> int: ...
    @property
    def latency_count(self) -> int: ...
    @property
    def latency_sum_ms(self) -> float: ...
    @property
    def latency_min_ms(self) -> float | None: ...
    @property
    def latency_max_ms(self) -> float | None: ...
    @property
    def histogram(self) -> dict[str, Any] | None: ...


# Plain rows of these columns, not ORM objects: a 24-hour timeline reads 1,440 rows, and
# nothing here needs an object's identity map entry or change tracking.
FIGURES = (
    CheckRollup.bucket_start, CheckRollup.checks, CheckRollup.failures,
    CheckRollup.maintenance_checks, CheckRollup.maintenance_failures, CheckRollup.latency_count,
    CheckRollup.latency_sum_ms, CheckRollup.latency_min_ms, CheckRollup.latency_max_ms,
    CheckRollup.histogram,
)  # fmt: skip


def total(rows: Sequence[Figures]) -> Totals:
    mins = [row.latency_min_ms for row in rows if row.latency_min_ms is not None]
    maxes = [row.latency_max_ms for row in rows if row.latency_max_ms is not None]
    return Totals(
        checks=sum(row.checks for row in rows),
        failures=sum(row.failures for row in rows),
        maintenance_checks=sum(row.maintenance_checks for row in rows),
        maintenance_failures=sum(row.maintenance_failures for row in rows),
        latency_count=sum(row.latency_count for row in rows),
        latency_sum_ms=sum(row.latency_sum_ms for row in rows),
        min_ms=min(mins) if mins else None,
        max_ms=max(maxes) if maxes else None,
        histogram=histogram.merge_stored(row.histogram for row in rows),
    )


async def rollups_between(
    session: AsyncSession, monitor_id: int, start: datetime, end: datetime
) -> list[Figures]:
    """The rollup rows tiling [start, end)."""
    ranges = cover(start, end)
    if not ranges:
        return []
    # The monitor is named inside each term: SQLite then searches the primary key for each
    # range, instead of reading every rollup of the monitor (43,200 minute rows in 30 days).
    conditions = [
        and_(
            CheckRollup.monitor_id == monitor_id,
            CheckRollup.resolution == resolution,
            CheckRollup.bucket_start >= first,
            CheckRollup.bucket_start < last,
        )
        for resolution, first, last in ranges
    ]
    result = await session.execute(select(*FIGURES).where(or_(*conditions)))
    return cast(list[Figures], list(result.all()))


async def rollups_of(
    session: AsyncSession, monitor_id: int, resolution: int, start: datetime, end: datetime
) -> list[Figures]:
    """Rows of one resolution in [start, end), oldest first (charts, daily bars)."""
    result = await session.execute(
        select(*FIGURES)
        .where(
            CheckRollup.monitor_id == monitor_id,
            CheckRollup.resolution == resolution,
            CheckRollup.bucket_start >= start,
            CheckRollup.bucket_start < end,
        )
        .order_by(CheckRollup.bucket_start)
    )
    return cast(list[Figures], list(result.all()))
