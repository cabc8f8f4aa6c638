"""The monitor state machine, rule by rule (pure, table-driven)."""

from __future__ import annotations

import pytest

from upwatch.monitors.policy import (
    Counters,
    MonitorStatus,
    Outcome,
    Thresholds,
    apply,
    decide,
)

UP, DOWN, DEGRADED, PENDING = (
    MonitorStatus.UP,
    MonitorStatus.DOWN,
    MonitorStatus.DEGRADED,
    MonitorStatus.PENDING,
)
OK = Outcome(ok=True, latency_ms=100)
SLOW = Outcome(ok=True, latency_ms=900)
FAIL = Outcome(ok=False, error_code="TIMEOUT", reason="no answer within 5 s")


def run(outcomes: list[Outcome], thresholds: Thresholds) -> list[MonitorStatus]:
    counters = Counters()
    seen = []
    for outcome in outcomes:
        counters, _ = apply(counters, outcome, thresholds)
        seen.append(counters.status)
    return seen


@pytest.mark.parametrize(
    ("outcomes", "thresholds", "expected"),
    [
        ([OK], Thresholds(), [UP]),
        ([FAIL], Thresholds(), [PENDING]),
        ([FAIL, FAIL], Thresholds(), [PENDING, DOWN]),
        ([OK, FAIL, FAIL, FAIL], Thresholds(), [UP, UP, DOWN, DOWN]),
        ([OK, FAIL, OK, FAIL], Thresholds(), [UP, UP, UP, UP]),
        ([FAIL], Thresholds(failure_threshold=1), [DOWN]),
        ([FAIL, FAIL, OK], Thresholds(), [PENDING, DOWN, UP]),
        ([FAIL, FAIL, OK, OK], Thresholds(recovery_threshold=2), [PENDING, DOWN, DOWN, UP]),
        (
            [FAIL, FAIL, OK, FAIL, OK, OK],
            Thresholds(recovery_threshold=2),
            [PENDING, DOWN, DOWN, DOWN, DOWN, UP],
        ),
        ([OK, SLOW, OK], Thresholds(degraded_above_ms=500), [UP, DEGRADED, UP]),
        ([SLOW], Thresholds(), [UP]),
        ([FAIL, FAIL, SLOW], Thresholds(degraded_above_ms=500), [PENDING, DOWN, DEGRADED]),
        ([SLOW, FAIL, FAIL], Thresholds(degraded_above_ms=500), [DEGRADED, DEGRADED, DOWN]),
    ],
)
def test_statuses_follow_the_thresholds(
    outcomes: list[Outcome], thresholds: Thresholds, expected: list[MonitorStatus]
) -> None:
    assert run(outcomes, thresholds) == expected


def test_going_down_names_the_failures_and_their_cause() -> None:
    counters, _ = apply(Counters(status=UP), FAIL, Thresholds())
    counters, reason = apply(counters, FAIL, Thresholds())
    assert counters.status is DOWN
    assert reason == "2 consecutive failures (TIMEOUT: no answer within 5 s)"


def test_recovering_says_so() -> None:
    _, reason = apply(Counters(status=DOWN, consecutive_failures=3), OK, Thresholds())
    assert reason == "recovered after 1 successful check"


def test_a_slow_success_says_how_slow() -> None:
    _, reason = apply(Counters(status=UP), SLOW, Thresholds(degraded_above_ms=500))
    assert reason == "response time 900 ms is above 500 ms"


def test_maintenance_overrides_the_shown_status_but_counters_keep_moving() -> None:
    decision = decide(Counters(status=UP), FAIL, Thresholds(failure_threshold=1), maintenance=True)
    assert decision.status is MonitorStatus.MAINTENANCE
    assert decision.counters.status is DOWN
    assert decision.counters.consecutive_failures == 1


def test_without_override_the_shown_status_is_the_counters_status() -> None:
    decision = decide(Counters(status=UP), FAIL, Thresholds(failure_threshold=1))
    assert decision.status is DOWN
