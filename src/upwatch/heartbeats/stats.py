"""Heartbeat uptime is a share of time, not of checks: a daily job pings once a day, so
counting pings would say little. Time counts as watched while the heartbeat is up or down
(not while pending or paused); uptime is the watched time not spent down."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

WATCHED = {"up", "down"}


@dataclass(frozen=True, slots=True)
class Uptime:
    watched_seconds: float
    down_seconds: float

    @property
    def percent(self) -> float | None:
        if self.watched_seconds <= 0:
            return None
        return round(100 * (1 - self.down_seconds / self.watched_seconds), 3)


def uptime(
    status_at_start: str | None,
    changes: Sequence[tuple[datetime, str]],
    since: datetime,
    until: datetime,
) -> Uptime:
    """Over [since, until), from the status at `since` and the changes after it (sorted)."""
    watched = down = 0.0
    status, cursor = status_at_start, since
    for changed_at, to_status in [*changes, (until, None)]:
        at = min(max(changed_at, since), until)
        seconds = (at - cursor).total_seconds()
        if status in WATCHED:
            watched += seconds
            down += seconds if status == "down" else 0.0
        status, cursor = to_status, at
    return Uptime(watched, down)


def days(
    status_at_start: str | None,
    changes: Sequence[tuple[datetime, str]],
    first: datetime,
    count: int,
    until: datetime,
) -> list[tuple[datetime, Uptime]]:
    """Uptime per day for `count` days from midnight `first`, the last one up to `until`."""
    result: list[tuple[datetime, Uptime]] = []
    status, remaining = status_at_start, list(changes)
    for index in range(count):
        start = first + timedelta(days=index)
        end = min(start + timedelta(days=1), until)
        inside = [change for change in remaining if change[0] < end]
        remaining = remaining[len(inside) :]
        result.append((start, uptime(status, inside, start, end)))
        if inside:
            status = inside[-1][1]
    return result
