"""The monitor state machine: previous state + one check's outcome → the new state.

Pure: no I/O, no clock. Every rule is here and table-tested:

- A check succeeds or fails. `failure_threshold` consecutive failures turn a monitor DOWN;
  `recovery_threshold` consecutive successes bring a DOWN monitor back.
- A monitor with no result yet is PENDING; its first success makes it UP at once (nothing
  to recover from), and failures turn it DOWN only at the threshold like any other.
- A success slower than `degraded_above_ms` is DEGRADED instead of UP.
- PAUSED and MAINTENANCE override the computed state: counters still move (results are
  recorded), so when the override ends the monitor resumes from where its checks say.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum


class MonitorStatus(StrEnum):
    PENDING = "pending"
    UP = "up"
    DEGRADED = "degraded"
    DOWN = "down"
    PAUSED = "paused"
    MAINTENANCE = "maintenance"


@dataclass(frozen=True, slots=True)
class Counters:
    """What the checks say, before overrides."""

    status: MonitorStatus = MonitorStatus.PENDING  # PENDING, UP, DEGRADED or DOWN
    consecutive_failures: int = 0
    consecutive_successes: int = 0


@dataclass(frozen=True, slots=True)
class Thresholds:
    failure_threshold: int = 2
    recovery_threshold: int = 1
    degraded_above_ms: float | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    latency_ms: float | None = None
    error_code: str | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Decision:
    counters: Counters
    status: MonitorStatus  # what the monitor shows: counters' status unless overridden
    reason: str  # why it is in this status (for the state-change row)


def apply(counters: Counters, outcome: Outcome, thresholds: Thresholds) -> tuple[Counters, str]:
    """The counters after one outcome, and the reason for their status."""
    if outcome.ok:
        return _after_success(counters, outcome, thresholds)
    return _after_failure(counters, outcome, thresholds)


def _after_success(
    counters: Counters, outcome: Outcome, thresholds: Thresholds
) -> tuple[Counters, str]:
    successes = counters.consecutive_successes + 1
    counted = replace(counters, consecutive_failures=0, consecutive_successes=successes)
    if counters.status is MonitorStatus.DOWN and successes < thresholds.recovery_threshold:
        needed = thresholds.recovery_threshold
        return counted, f"still down: {successes} of {needed} successful checks to recover"
    slow = (
        thresholds.degraded_above_ms is not None
        and outcome.latency_ms is not None
        and outcome.latency_ms > thresholds.degraded_above_ms
    )
    if slow:
        reason = (
            f"response time {outcome.latency_ms:.0f} ms is above "
            f"{thresholds.degraded_above_ms:.0f} ms"
        )
        return replace(counted, status=MonitorStatus.DEGRADED), reason
    if counters.status is MonitorStatus.DOWN:
        return replace(counted, status=MonitorStatus.UP), f"recovered after {successes} " + (
            "successful check" if successes == 1 else "successful checks"
        )
    return replace(counted, status=MonitorStatus.UP), "check succeeded"


def _after_failure(
    counters: Counters, outcome: Outcome, thresholds: Thresholds
) -> tuple[Counters, str]:
    failures = counters.consecutive_failures + 1
    counted = replace(counters, consecutive_failures=failures, consecutive_successes=0)
    detail = f"{outcome.error_code}: {outcome.reason}" if outcome.error_code else outcome.reason
    if failures >= thresholds.failure_threshold:
        plural = "failure" if failures == 1 else "consecutive failures"
        return replace(counted, status=MonitorStatus.DOWN), f"{failures} {plural} ({detail})"
    return counted, f"{failures} of {thresholds.failure_threshold} failures to go down ({detail})"


def decide(
    counters: Counters,
    outcome: Outcome,
    thresholds: Thresholds,
    *,
    maintenance: bool = False,
    paused: bool = False,
) -> Decision:
    new, reason = apply(counters, outcome, thresholds)
    if paused:  # an on-demand run of a paused monitor: recorded, still paused
        return Decision(new, MonitorStatus.PAUSED, f"paused; checks say: {reason}")
    if maintenance:
        return Decision(new, MonitorStatus.MAINTENANCE, f"in maintenance; checks say: {reason}")
    return Decision(new, new.status, reason)
