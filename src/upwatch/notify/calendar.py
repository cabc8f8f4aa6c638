"""When maintenance windows are on, and what they cover. Pure: no I/O.

A window is one-off (`starts_at`..`ends_at`) or recurring: occurrences start at the times
of a cron expression or an RRULE in the window's time zone (DST-correct, as for cron
heartbeats) and last `duration_minutes`; none start before `starts_at` or after `until`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from cronsim import CronSim
from dateutil import rrule as rrules
from dateutil.rrule import rrulestr

from upwatch.models import MaintenanceWindow

# Wider than any change of a zone's UTC offset (DST moves clocks by at most two hours).
_SLACK = timedelta(hours=3)


@dataclass(frozen=True, slots=True)
class Covered:
    """A monitor or heartbeat as maintenance scopes see it."""

    kind: str  # monitor | heartbeat
    public_id: str
    tags: frozenset[str] = frozenset()
    group_id: str | None = None


@dataclass(frozen=True, slots=True)
class Window:
    id: str
    organization_id: int
    title: str
    starts_at: datetime
    ends_at: datetime | None
    cron: str | None
    rrule: str | None
    duration: timedelta | None
    timezone: str
    until: datetime | None
    all_subjects: bool
    monitor_ids: frozenset[str]
    heartbeat_ids: frozenset[str]
    tags: frozenset[str]
    group_ids: frozenset[str]
    notify: bool

    @classmethod
    def of(cls, row: MaintenanceWindow) -> Window:
        return cls(
            id=str(row.public_id),
            organization_id=row.organization_id,
            title=row.title,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            cron=row.cron,
            rrule=row.rrule,
            duration=None
            if row.duration_minutes is None
            else timedelta(minutes=row.duration_minutes),
            timezone=row.timezone,
            until=row.until,
            all_subjects=row.all_subjects,
            monitor_ids=frozenset(row.monitor_ids),
            heartbeat_ids=frozenset(row.heartbeat_ids),
            tags=frozenset(row.tags),
            group_ids=frozenset(row.group_ids),
            notify=row.notify,
        )

    def covers(self, subject: Covered) -> bool:
        if self.all_subjects or subject.tags & self.tags:
            return True
        if subject.kind == "monitor":
            return subject.public_id in self.monitor_ids or (
                subject.group_id is not None and subject.group_id in self.group_ids
            )
        return subject.public_id in self.heartbeat_ids

    def occurrence_at(self, at: datetime) -> tuple[datetime, datetime] | None:
        """The (start, end) of the occurrence in progress at `at`, if any."""
        if at < self.starts_at:
            return None
        if self.ends_at is not None:
            return (self.starts_at, self.ends_at) if at < self.ends_at else None
        assert self.duration is not None
        start = self._last_start_at_or_before(at)
        if start is None or start < self.starts_at:
            return None
        if self.until is not None and start > self.until:
            return None
        end = start + self.duration
        return (start, end) if at < end else None

    def next_start_after(self, at: datetime) -> datetime | None:
        """The first occurrence start after `at` (for listings and notices)."""
        if self.ends_at is not None:
            return self.starts_at if self.starts_at > at else None
        after = max(at, self.starts_at - timedelta(seconds=1))
        found = self._first_start_after(after)
        return None if found is None or (self.until is not None and found > self.until) else found

    # dateutil and cronsim compare and step in local wall-clock time: when the clocks go
    # back, a start that is past in UTC can still be ahead on the wall clock (and the other
    # way round in a spring-forward gap). So both searches begin SLACK away on the wall
    # clock and keep only starts on the right side of `at` in UTC.

    def _first_start_after(self, at: datetime) -> datetime | None:
        begin = at.astimezone(ZoneInfo(self.timezone)) - _SLACK
        if self.cron is not None:
            starts: Iterable[datetime] = CronSim(self.cron, begin)
        else:
            starts = self._rule().xafter(begin, inc=True)
        return next((utc for utc in _in_utc(starts) if utc > at), None)

    def _last_start_at_or_before(self, at: datetime) -> datetime | None:
        local = at.astimezone(ZoneInfo(self.timezone))
        if self.cron is not None:
            starts = CronSim(self.cron, local + _SLACK, reverse=True)
            return next(utc for utc in _in_utc(starts) if utc <= at)
        # One pass over the rule, as `rrule.before` makes. A start SLACK or more before
        # `at` on the wall clock is before it in UTC too; nearer ones are compared in UTC,
        # where their order can differ from the wall clock's around a gap.
        low, high = local - _SLACK, local + _SLACK
        earlier: datetime | None = None
        near: list[datetime] = []
        for start in self._rule():
            if start > high:
                break
            if start <= low:
                earlier = start
            else:
                near.append(start)
        candidates = _in_utc(near if earlier is None else [earlier, *near])
        return max((utc for utc in candidates if utc <= at), default=None)

    def _rule(self) -> rrules.rrule | rrules.rruleset:
        zone = ZoneInfo(self.timezone)
        assert self.rrule is not None
        return rrulestr(self.rrule, dtstart=self.starts_at.astimezone(zone))


def _in_utc(starts: Iterable[datetime]) -> Iterator[datetime]:
    return (start.astimezone(UTC) for start in starts)
