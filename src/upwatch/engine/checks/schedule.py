"""When checks run: fixed-rate slots, spread over the interval, never bursting after a stop.

Pure functions of time; the scheduler applies them.

- Each monitor has a phase inside its interval derived from its id, so monitors of one
  interval spread evenly instead of all firing at :00.
- Fixed rate: the next slot is the previous slot plus the interval, whatever the check took.
- After a restart (or a pause), missed slots are skipped: the next slot is the first one of
  the monitor's phase that is not in the past, so nothing bursts. (The scheduler still runs
  a slot missed by a moment, `scheduler.CATCH_UP_SECONDS`: a worker replaced at once.)
"""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, datetime, timedelta
from uuid import UUID

EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


def phase_seconds(monitor_id: UUID, interval_seconds: int) -> float:
    """A stable offset in [0, interval), evenly spread over monitors."""
    digest = hashlib.blake2b(monitor_id.bytes, digest_size=8).digest()
    fraction = int.from_bytes(digest, "big") / 2**64
    return fraction * interval_seconds


def first_slot(monitor_id: UUID, interval_seconds: int, now: datetime) -> datetime:
    """The monitor's first slot at or after `now`."""
    phase = phase_seconds(monitor_id, interval_seconds)
    elapsed = (now - EPOCH).total_seconds() - phase
    cycles = math.ceil(elapsed / interval_seconds)
    return EPOCH + timedelta(seconds=cycles * interval_seconds + phase)


def next_slot(scheduled: datetime, interval_seconds: int, now: datetime) -> datetime:
    """The slot after `scheduled` (fixed rate), skipping any that are already in the past."""
    following = scheduled + timedelta(seconds=interval_seconds)
    if following >= now:
        return following
    missed = math.ceil((now - following).total_seconds() / interval_seconds)
    return following + timedelta(seconds=missed * interval_seconds)
