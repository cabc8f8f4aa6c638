"""When a heartbeat's next ping is expected: after a period, or at the next time of a cron
expression read in a named time zone (DST-correct, the way Debian's cron reads it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

CRON_FIELDS = 5


@dataclass(frozen=True, slots=True)
class Schedule:
    period_seconds: int | None  # exactly one of period_seconds and cron
    cron: str | None
    timezone: str
    grace_seconds: int

    def next_expected(self, after: datetime) -> datetime:
        """The first expected ping strictly after `after`."""
        if self.cron is None:
            assert self.period_seconds is not None
            return after + timedelta(seconds=self.period_seconds)
        local = after.astimezone(ZoneInfo(self.timezone))
        return next(CronSim(self.cron, local)).astimezone(UTC)

    def deadline_after(self, moment: datetime) -> datetime:
        """When a miss is declared if nothing arrives after a ping at `moment`."""
        return self.next_expected(moment) + timedelta(seconds=self.grace_seconds)


def cron_error(expression: str) -> str | None:
    """Why `expression` is not a usable cron expression, or None if it is."""
    if len(expression.split()) != CRON_FIELDS:
        return "needs 5 fields: minute hour day-of-month month day-of-week"
    try:
        next(CronSim(expression, datetime(2000, 1, 1, tzinfo=UTC)))
    except CronSimError as exc:
        return str(exc)
    except StopIteration:  # pragma: no cover - cronsim raises CronSimError for impossible dates
        return "never matches"
    return None


def timezone_error(name: str) -> str | None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return "is not an IANA time zone name (e.g. Europe/Berlin)"
    return None
