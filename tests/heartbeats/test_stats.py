"""Heartbeat uptime as a share of watched time (up or down; not pending, not paused)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from upwatch.heartbeats.stats import Uptime, days, uptime

SINCE = datetime(2026, 1, 1, tzinfo=UTC)
UNTIL = SINCE + timedelta(days=1)
HOUR = 3600.0


def hours(count: float) -> datetime:
    return SINCE + timedelta(hours=count)


@pytest.mark.parametrize(
    ("status_at_start", "changes", "watched_hours", "down_hours", "percent"),
    [
        pytest.param("up", [], 24, 0, 100.0, id="all-up"),
        pytest.param("down", [], 24, 24, 0.0, id="all-down"),
        pytest.param("up", [(hours(12), "down")], 24, 12, 50.0, id="half-down"),
        pytest.param(
            "up",
            [(hours(6), "down"), (hours(12), "up")],
            24,
            6,
            75.0,
            id="a-quarter-down-in-the-middle",
        ),
        pytest.param(
            "pending",
            [(hours(6), "up"), (hours(18), "down")],
            18,
            6,
            66.667,
            id="pending-time-is-not-watched",
        ),
        pytest.param(
            "up",
            [(hours(6), "paused"), (hours(18), "down")],
            12,
            6,
            50.0,
            id="paused-time-is-not-watched",
        ),
        pytest.param(
            "down",
            [(hours(12), "paused")],
            12,
            12,
            0.0,
            id="down-then-paused-is-all-down",
        ),
    ],
)
def test_uptime_is_the_share_of_watched_time_not_spent_down(
    status_at_start: str,
    changes: list[tuple[datetime, str]],
    watched_hours: float,
    down_hours: float,
    percent: float,
) -> None:
    result = uptime(status_at_start, changes, SINCE, UNTIL)
    assert result == Uptime(watched_hours * HOUR, down_hours * HOUR)
    assert result.percent == percent


@pytest.mark.parametrize(
    ("status_at_start", "changes"),
    [
        pytest.param("pending", [], id="pending-throughout"),
        pytest.param("paused", [], id="paused-throughout"),
        pytest.param(None, [], id="did-not-exist-yet"),
        pytest.param("pending", [(hours(12), "paused")], id="pending-then-paused"),
    ],
)
def test_with_nothing_watched_there_is_no_uptime_percent(
    status_at_start: str | None, changes: list[tuple[datetime, str]]
) -> None:
    result = uptime(status_at_start, changes, SINCE, UNTIL)
    assert result.watched_seconds == 0
    assert result.down_seconds == 0
    assert result.percent is None


def test_a_status_of_none_before_the_first_change_counts_from_that_change() -> None:
    result = uptime(None, [(hours(18), "up")], SINCE, UNTIL)
    assert result == Uptime(6 * HOUR, 0.0)
    assert result.percent == 100.0


def test_changes_before_since_count_no_time_but_set_the_status() -> None:
    changes = [(hours(-30), "up"), (hours(-5), "down"), (hours(6), "up")]
    result = uptime("pending", changes, SINCE, UNTIL)
    assert result == Uptime(24 * HOUR, 6 * HOUR)
    assert result.percent == 75.0


@pytest.mark.parametrize(
    "late_change",
    [
        pytest.param(UNTIL, id="exactly-at-until"),
        pytest.param(UNTIL + timedelta(hours=1), id="after-until"),
    ],
)
def test_changes_at_or_after_until_count_no_time(late_change: datetime) -> None:
    changes = [(hours(18), "down"), (late_change, "up"), (late_change + timedelta(days=2), "down")]
    result = uptime("up", changes, SINCE, UNTIL)
    assert result == Uptime(24 * HOUR, 6 * HOUR)
    assert result.percent == 75.0


def test_a_down_period_across_midnight_is_split_between_the_days() -> None:
    # Down from 18:00 on 1 January to 06:00 on 2 January; `until` is noon on 3 January.
    changes = [(hours(18), "down"), (hours(24 + 6), "up")]
    result = days("up", changes, SINCE, 3, hours(48 + 12))
    assert result == [
        (hours(0), Uptime(24 * HOUR, 6 * HOUR)),
        (hours(24), Uptime(24 * HOUR, 6 * HOUR)),
        (hours(48), Uptime(12 * HOUR, 0.0)),  # the last day ends at `until`
    ]
    assert [day.percent for _, day in result] == [75.0, 75.0, 100.0]


def test_a_down_period_covering_a_whole_day_carries_over_into_days_without_changes() -> None:
    changes = [(hours(18), "down"), (hours(48 + 6), "up")]
    result = days("up", changes, SINCE, 3, hours(72))
    assert [day.percent for _, day in result] == [75.0, 0.0, 75.0]
    assert result[1][1] == Uptime(24 * HOUR, 24 * HOUR)


def test_the_last_day_is_capped_at_until_even_while_down() -> None:
    result = days("up", [(hours(24 + 10), "down")], SINCE, 2, hours(24 + 15))
    assert result[-1] == (hours(24), Uptime(15 * HOUR, 5 * HOUR))
    assert result[-1][1].percent == 66.667


def test_days_use_a_change_before_the_first_day_as_the_starting_status() -> None:
    result = days("pending", [(hours(-1), "down"), (hours(12), "up")], SINCE, 2, hours(48))
    assert result == [
        (hours(0), Uptime(24 * HOUR, 12 * HOUR)),
        (hours(24), Uptime(24 * HOUR, 0.0)),
    ]


def test_days_that_are_paused_throughout_have_no_percent() -> None:
    result = days("up", [(hours(12), "paused"), (hours(48), "up")], SINCE, 3, hours(72))
    assert [day.percent for _, day in result] == [100.0, None, 100.0]
