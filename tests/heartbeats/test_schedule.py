"""When the next ping is expected: periods, and cron read in an IANA zone across DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from upwatch.heartbeats.schedule import Schedule, cron_error, timezone_error

BERLIN = ZoneInfo("Europe/Berlin")
FIELD_COUNT = "needs 5 fields: minute hour day-of-month month day-of-week"
NOT_A_ZONE = "is not an IANA time zone name (e.g. Europe/Berlin)"

# Europe/Berlin in 2026: CET (UTC+1) until Sunday 29 March, when at 01:00 UTC the clocks jump
# from 02:00 CET to 03:00 CEST (UTC+2); back on Sunday 25 October, when at 01:00 UTC they
# fall from 03:00 CEST to 02:00 CET, so local 02:00-02:59 happens twice that night.


def cron(expression: str, grace_seconds: int = 0, timezone: str = "Europe/Berlin") -> Schedule:
    return Schedule(
        period_seconds=None, cron=expression, timezone=timezone, grace_seconds=grace_seconds
    )


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("period", "grace", "next_expected", "deadline"),
    [
        pytest.param(60, 0, utc(2026, 1, 1, 0, 1), utc(2026, 1, 1, 0, 1), id="minutely-no-grace"),
        pytest.param(
            3600, 300, utc(2026, 1, 1, 1, 0), utc(2026, 1, 1, 1, 5), id="hourly-5-min-grace"
        ),
        pytest.param(
            86400, 3600, utc(2026, 1, 2, 0, 0), utc(2026, 1, 2, 1, 0), id="daily-1-h-grace"
        ),
    ],
)
def test_a_period_schedule_expects_the_next_ping_one_period_later_and_adds_grace(
    period: int, grace: int, next_expected: datetime, deadline: datetime
) -> None:
    schedule = Schedule(period_seconds=period, cron=None, timezone="UTC", grace_seconds=grace)
    assert schedule.next_expected(utc(2026, 1, 1)) == next_expected
    assert schedule.deadline_after(utc(2026, 1, 1)) == deadline


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        # 03:00 CET = 02:00 UTC.
        pytest.param(utc(2026, 3, 27, 12), utc(2026, 3, 28, 2), id="day-before-spring-forward-cet"),
        # On the 29th 03:00 local is CEST already: 03:00 CEST = 01:00 UTC (the very instant of
        # the jump; the wall clock goes straight from 01:59:59 CET to 03:00:00 CEST).
        pytest.param(utc(2026, 3, 28, 12), utc(2026, 3, 29, 1), id="spring-forward-day-cest"),
        pytest.param(utc(2026, 3, 29, 12), utc(2026, 3, 30, 1), id="day-after-spring-forward"),
        # Strictly after: a ping at exactly 03:00 CEST expects the next day's run.
        pytest.param(utc(2026, 3, 29, 1), utc(2026, 3, 30, 1), id="exactly-at-a-run-time"),
        # 03:00 CEST = 01:00 UTC on the 24th.
        pytest.param(utc(2026, 10, 24, 0), utc(2026, 10, 24, 1), id="day-before-fall-back-cest"),
        # On the 25th 03:00 local is CET again: 03:00 CET = 02:00 UTC. 03:00 happens once
        # (at 01:00 UTC the wall clock reads 03:00 CEST = 02:00 CET, i.e. it shows 02:00).
        pytest.param(utc(2026, 10, 24, 12), utc(2026, 10, 25, 2), id="fall-back-day-cet"),
        # Asked during the repeated hour (02:30 CET, second time round): still 02:00 UTC.
        pytest.param(utc(2026, 10, 25, 1, 30), utc(2026, 10, 25, 2), id="inside-repeated-hour"),
        pytest.param(utc(2026, 10, 25, 12), utc(2026, 10, 26, 2), id="day-after-fall-back"),
    ],
)
def test_a_daily_cron_job_at_three_in_berlin_is_expected_at_the_right_utc_instant(
    after: datetime, expected: datetime
) -> None:
    expected_at = cron("0 3 * * *").next_expected(after)
    assert expected_at == expected
    assert expected_at.tzinfo is UTC
    local = expected_at.astimezone(BERLIN)
    assert (local.hour, local.minute) == (3, 0)


def gaps_between_runs(schedule: Schedule, after: datetime, runs: int) -> list[timedelta]:
    moments = [schedule.next_expected(after)]
    for _ in range(runs - 1):
        moments.append(schedule.next_expected(moments[-1]))
    return [later - earlier for earlier, later in pairwise(moments)]


def test_the_days_around_the_dst_changes_are_23_and_25_hours_long() -> None:
    schedule = cron("0 3 * * *")
    # Runs on 28, 29, 30 March: one hour is skipped in between the first two.
    assert gaps_between_runs(schedule, utc(2026, 3, 27, 12), 3) == [
        timedelta(hours=23),
        timedelta(hours=24),
    ]
    # Runs on 24, 25, 26 October: one hour is repeated in between the first two.
    assert gaps_between_runs(schedule, utc(2026, 10, 23, 12), 3) == [
        timedelta(hours=25),
        timedelta(hours=24),
    ]


def test_a_cron_deadline_adds_the_grace_to_the_next_run() -> None:
    # 03:00 CEST on 29 March = 01:00 UTC, plus 10 minutes.
    schedule = cron("0 3 * * *", grace_seconds=600)
    assert schedule.deadline_after(utc(2026, 3, 28, 12)) == utc(2026, 3, 29, 1, 10)


def test_a_job_at_0230_on_the_spring_forward_day_runs_at_0300_local_like_debian_cron() -> None:
    # 02:30 does not exist in Berlin on 29 March 2026 (02:00 CET jumps to 03:00 CEST). Like
    # Debian's cron, cronsim runs the job at the first moment after the gap: 03:00 CEST =
    # 01:00 UTC; the day after it is back at 02:30 CEST = 00:30 UTC.
    schedule = cron("30 2 * * *")
    skipped_day = schedule.next_expected(utc(2026, 3, 28, 12))
    assert skipped_day == utc(2026, 3, 29, 1, 0)
    assert skipped_day.astimezone(BERLIN).strftime("%H:%M %Z") == "03:00 CEST"
    assert schedule.next_expected(skipped_day) == utc(2026, 3, 30, 0, 30)


def test_a_job_at_0230_on_the_fall_back_day_runs_once_at_the_first_0230() -> None:
    # 02:30 happens twice in Berlin on 25 October 2026: 02:30 CEST = 00:30 UTC, then 02:30
    # CET = 01:30 UTC. The job runs once, at the first; the next run is 02:30 CET on the 26th
    # = 01:30 UTC.
    schedule = cron("30 2 * * *")
    first = schedule.next_expected(utc(2026, 10, 24, 12))
    assert first == utc(2026, 10, 25, 0, 30)
    assert schedule.next_expected(first) == utc(2026, 10, 26, 1, 30)


def test_an_hourly_job_runs_in_both_copies_of_the_repeated_hour() -> None:
    # At 00:30 UTC (02:30 CEST) the next full hour is 02:00 CET = 01:00 UTC, then 03:00 CET.
    schedule = cron("0 * * * *")
    assert schedule.next_expected(utc(2026, 10, 25, 0, 30)) == utc(2026, 10, 25, 1)
    assert schedule.next_expected(utc(2026, 10, 25, 1)) == utc(2026, 10, 25, 2)


def test_the_same_cron_in_another_zone_gives_another_instant() -> None:
    after = utc(2026, 7, 1, 12)
    assert cron("0 3 * * *", timezone="UTC").next_expected(after) == utc(2026, 7, 2, 3)
    # 03:00 EDT (UTC-4) = 07:00 UTC.
    assert cron("0 3 * * *", timezone="America/New_York").next_expected(after) == utc(2026, 7, 2, 7)


@pytest.mark.parametrize(
    ("expression", "mentions"),
    [
        pytest.param("* * * *", FIELD_COUNT, id="four-fields"),
        pytest.param("0 * * * * *", FIELD_COUNT, id="six-fields-with-seconds"),
        pytest.param("", FIELD_COUNT, id="empty"),
        pytest.param("61 * * * *", "minute", id="minute-61"),
        pytest.param("0 0 31 2 *", "day-of-month", id="31-february-never-happens"),
    ],
)
def test_a_bad_cron_expression_is_explained(expression: str, mentions: str) -> None:
    error = cron_error(expression)
    assert error is not None
    assert mentions.lower() in error.lower()


@pytest.mark.parametrize(
    "expression",
    [
        pytest.param("0 3 * * *", id="daily"),
        pytest.param("*/5 * * * *", id="every-5-minutes"),
        pytest.param("0 9 * * 1-5", id="weekdays"),
        pytest.param("0 0 29 2 *", id="leap-day"),
    ],
)
def test_a_good_cron_expression_has_no_error(expression: str) -> None:
    assert cron_error(expression) is None


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("Mars/Olympus", id="unknown-zone"),
        pytest.param("", id="empty"),
        pytest.param("../../etc/passwd", id="path-outside-the-zone-database"),
    ],
)
def test_a_bad_time_zone_is_explained(name: str) -> None:
    assert timezone_error(name) == NOT_A_ZONE


@pytest.mark.parametrize("name", ["America/New_York", "Europe/Berlin", "UTC"])
def test_an_iana_time_zone_has_no_error(name: str) -> None:
    assert timezone_error(name) is None
