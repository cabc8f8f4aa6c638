"""The one place that reads the wall clock. Everything else receives a `Clock`, so tests can
move time instead of sleeping."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def isoformat_z(moment: datetime) -> str:
    """`2026-11-22T18:00:00.123Z`: the API's timestamp format (UTC, `Z`, milliseconds)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
