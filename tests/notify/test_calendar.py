"""Recurring maintenance windows across daylight-saving changes, in two time zones.

Europe/Berlin springs forward on 2026-03-29 (02:00 -> 03:00) and falls back on 2026-10-25
(03:00 -> 02:00); America/New_York on 2026-03-08 (02:00 -> 03:00) and 2026-11-01
(02:00 -> 01:00). What a window promises (docs/notifications.md):
- a local start time the clocks skip: an RRULE reads it with the offset before the gap
  (RFC 5545: 02:30 is 03:30 summer time), cron starts when the gap ends (03:00);
- a local start time the clocks repeat: the window happens once, at the first of the two;
- `duration_minutes` is real (elapsed) time, whatever the clocks do meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import takewhile
from zoneinfo import ZoneInfo

import pytest
from cronsim import CronSim
from dateutil.rrule import rrulestr
from hypothesis import example, given
from hypothesis import strategies as st

from upwatch.notify.calendar import Window

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"
DAILY_0230_RRULE = "FREQ=DAILY;BYHOUR=2;BYMINUTE=30;BYSECOND=0"
DAILY_0230_CRON = "30 2 * * *"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


START = utc(2026, 1, 1)  # when the windows below were created


def recurring(
    *,
    rrule: str | None = None,
    cron: str | None = None,
    timezone: str = BERLIN,
    minutes: int = 60,
    starts_at: datetime = START,
    until: datetime | None = None,
) -> Window:
    return Window(
        id="window",
        organization_id=1,
        title="nightly",
        starts_at=starts_at,
        ends_at=None,
        cron=cron,
        rrule=rrule,
        duration=timedelta(minutes=minutes),
        timezone=timezone,
        until=until,
        all_subjects=True,
        monitor_ids=frozenset(),
        heartbeat_ids=frozenset(),
        tags=frozenset(),
        group_ids=frozenset(),
        notify=False,
    )


def starts_between(window: Window, begin: datetime, end: datetime) -> list[datetime]:
    """Occurrence starts in [begin, end), found by stepping `next_start_after`."""
    found: list[datetime] = []
    at = begin - timedelta(microseconds=1)
    while (start := window.next_start_after(at)) is not None and start < end:
        found.append(start)
        at = start
    return found


# --- a local start time the clocks skip (spring forward) --------------------------------


RRULE_0230 = {"rrule": DAILY_0230_RRULE}
CRON_0230 = {"cron": DAILY_0230_CRON}


@pytest.mark.parametrize(
    ("schedule", "timezone", "day", "start"),
    [
        # An RRULE reads 02:30 with the offset from before the gap: 03:30 summer time.
        (RRULE_0230, BERLIN, utc(2026, 3, 29), utc(2026, 3, 29, 1, 30)),
        (RRULE_0230, NEW_YORK, utc(2026, 3, 8), utc(2026, 3, 8, 7, 30)),
        # cron runs it when the gap ends: 03:00 summer time.
        (CRON_0230, BERLIN, utc(2026, 3, 29), utc(2026, 3, 29, 1)),
        (CRON_0230, NEW_YORK, utc(2026, 3, 8), utc(2026, 3, 8, 7)),
    ],
)
def test_a_window_at_a_skipped_time_starts_once_as_its_kind_of_rule_reads_it(
    schedule: dict[str, str], timezone: str, day: datetime, start: datetime
) -> None:
    window = recurring(**schedule, timezone=timezone)
    assert starts_between(window, day, day + timedelta(days=1)) == [start]
    assert window.occurrence_at(start) == (start, start + timedelta(hours=1))


@pytest.mark.parametrize(
    ("timezone", "start"),
    [(BERLIN, utc(2026, 3, 29, 1, 30)), (NEW_YORK, utc(2026, 3, 8, 7, 30))],
)
def test_an_rrule_window_at_a_skipped_time_is_not_in_effect_before_it_starts(
    timezone: str, start: datetime
) -> None:
    window = recurring(rrule=DAILY_0230_RRULE, timezone=timezone)
    assert window.occurrence_at(start - timedelta(minutes=15)) is None
    assert window.occurrence_at(start - timedelta(minutes=30)) is None


# --- a local start time the clocks repeat (fall back) -----------------------------------

FALL_BACK = [
    # zone, a daily start in the repeated hour, the day, its first (summer-time) occurrence
    (BERLIN, (2, 30), utc(2026, 10, 25), utc(2026, 10, 25, 0, 30)),  # 02:30 CEST
    (NEW_YORK, (1, 30), utc(2026, 11, 1), utc(2026, 11, 1, 5, 30)),  # 01:30 EDT
]


def daily_windows(timezone: str, hour: int, minute: int) -> list[Window]:
    rule = f"FREQ=DAILY;BYHOUR={hour};BYMINUTE={minute};BYSECOND=0"
    return [
        recurring(rrule=rule, timezone=timezone),
        recurring(cron=f"{minute} {hour} * * *", timezone=timezone),
    ]


@pytest.mark.parametrize(("timezone", "local", "day", "first"), FALL_BACK)
def test_a_window_at_a_repeated_time_happens_once_at_the_first_of_the_two(
    timezone: str, local: tuple[int, int], day: datetime, first: datetime
) -> None:
    for window in daily_windows(timezone, *local):
        assert starts_between(window, day, day + timedelta(days=1)) == [first], window


@pytest.mark.parametrize(("timezone", "local", "day", "first"), FALL_BACK)
def test_a_window_stays_in_effect_for_its_whole_duration_while_the_clocks_go_back(
    timezone: str, local: tuple[int, int], day: datetime, first: datetime
) -> None:
    for window in daily_windows(timezone, *local):
        end = first + timedelta(hours=1)
        for minutes in (0, 29, 31, 59):
            assert window.occurrence_at(first + timedelta(minutes=minutes)) == (first, end)
        assert window.occurrence_at(end) is None
        # The second pass of the local start time starts nothing.
        assert window.occurrence_at(end + timedelta(minutes=5)) is None


@pytest.mark.parametrize(("timezone", "local", "day", "first"), FALL_BACK)
def test_the_next_start_is_never_in_the_past_while_the_clocks_go_back(
    timezone: str, local: tuple[int, int], day: datetime, first: datetime
) -> None:
    for window in daily_windows(timezone, *local):
        for minutes in (10, 40, 70, 100):
            at = first + timedelta(minutes=minutes)
            assert window.next_start_after(at) == first + timedelta(days=1, hours=1), window


# --- a window whose duration spans the change -------------------------------------------


@pytest.mark.parametrize(
    ("timezone", "start", "end"),
    [
        # 01:30 CET + 2 h = 04:30 CEST (only 2 real hours, though the clocks moved 3)
        (BERLIN, utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 2, 30)),
        # 01:30 CEST + 2 h = 02:30 CET (the clocks moved 1 hour)
        (BERLIN, utc(2026, 10, 24, 23, 30), utc(2026, 10, 25, 1, 30)),
        # 01:30 EST + 2 h = 04:30 EDT
        (NEW_YORK, utc(2026, 3, 8, 6, 30), utc(2026, 3, 8, 8, 30)),
        # 00:30 EDT + 2 h = 01:30 EST (the second 01:30)
        (NEW_YORK, utc(2026, 11, 1, 4, 30), utc(2026, 11, 1, 6, 30)),
    ],
)
def test_a_window_spanning_the_change_lasts_its_duration_in_real_time(
    timezone: str, start: datetime, end: datetime
) -> None:
    local = start.astimezone(ZoneInfo(timezone))
    rule = f"FREQ=DAILY;BYHOUR={local.hour};BYMINUTE={local.minute};BYSECOND=0"
    for window in (
        recurring(rrule=rule, timezone=timezone, minutes=120),
        recurring(cron=f"{local.minute} {local.hour} * * *", timezone=timezone, minutes=120),
    ):
        assert window.occurrence_at(end - timedelta(seconds=1)) == (start, end), window
        assert window.occurrence_at(end) is None


# --- weekly rules, in effect or not, end dates, UTC -------------------------------------


def test_a_weekly_rrule_with_byday_starts_on_those_days_at_the_local_time_across_the_change() -> (
    None
):
    window = recurring(
        rrule="FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=22;BYMINUTE=0;BYSECOND=0", timezone=NEW_YORK
    )
    assert starts_between(window, utc(2026, 3, 2), utc(2026, 3, 13)) == [
        utc(2026, 3, 3, 3),  # Monday 2 March, 22:00 EST
        utc(2026, 3, 5, 3),  # Wednesday 4 March, 22:00 EST
        utc(2026, 3, 10, 2),  # Monday 9 March, 22:00 EDT
        utc(2026, 3, 12, 2),  # Wednesday 11 March, 22:00 EDT
    ]


def test_a_window_is_in_effect_from_its_start_up_to_but_not_at_its_end() -> None:
    window = recurring(cron="0 3 * * 1-5", timezone=BERLIN, minutes=90)  # weekdays 03:00
    start = utc(2026, 6, 1, 1)  # Monday 03:00 CEST
    end = start + timedelta(minutes=90)
    assert window.occurrence_at(start - timedelta(seconds=1)) is None
    assert window.occurrence_at(start) == (start, end)
    assert window.occurrence_at(end - timedelta(seconds=1)) == (start, end)
    assert window.occurrence_at(end) is None
    assert window.occurrence_at(utc(2026, 6, 6, 1, 30)) is None  # Saturday


def test_the_next_start_after_an_instant_is_the_first_one_strictly_after_it() -> None:
    window = recurring(cron="0 3 * * *", timezone=BERLIN)
    start = utc(2026, 6, 1, 1)
    assert window.next_start_after(start - timedelta(seconds=1)) == start
    assert window.next_start_after(start) == start + timedelta(days=1)


def test_a_recurring_window_starts_nothing_before_its_starts_at() -> None:
    window = recurring(cron="0 3 * * *", timezone=BERLIN, starts_at=utc(2026, 6, 2))
    assert window.occurrence_at(utc(2026, 6, 1, 1, 30)) is None
    assert window.next_start_after(utc(2026, 5, 1)) == utc(2026, 6, 2, 1)


def test_an_rrule_with_count_stops_after_that_many_occurrences() -> None:
    window = recurring(
        rrule="FREQ=DAILY;COUNT=2;BYHOUR=2;BYMINUTE=30;BYSECOND=0", starts_at=utc(2026, 6, 1)
    )
    assert starts_between(window, utc(2026, 6, 1), utc(2026, 7, 1)) == [
        utc(2026, 6, 1, 0, 30),
        utc(2026, 6, 2, 0, 30),
    ]
    assert window.occurrence_at(utc(2026, 6, 3, 0, 45)) is None


def test_an_rrule_with_until_starts_nothing_after_it() -> None:
    window = recurring(
        rrule="FREQ=DAILY;UNTIL=20260602T235959Z;BYHOUR=2;BYMINUTE=30;BYSECOND=0",
        starts_at=utc(2026, 6, 1),
    )
    assert len(starts_between(window, utc(2026, 6, 1), utc(2026, 7, 1))) == 2
    assert window.occurrence_at(utc(2026, 6, 3, 0, 45)) is None


def test_a_window_with_an_until_date_starts_nothing_after_it() -> None:
    window = recurring(cron=DAILY_0230_CRON, until=utc(2026, 6, 2, 12))
    assert starts_between(window, utc(2026, 6, 1), utc(2026, 7, 1)) == [
        utc(2026, 6, 1, 0, 30),
        utc(2026, 6, 2, 0, 30),
    ]
    assert window.occurrence_at(utc(2026, 6, 3, 0, 45)) is None
    assert window.next_start_after(utc(2026, 6, 2, 12)) is None


def test_a_utc_window_starts_at_the_same_utc_time_every_day_all_year() -> None:
    for window in (
        recurring(cron=DAILY_0230_CRON, timezone="UTC"),
        recurring(rrule=DAILY_0230_RRULE, timezone="UTC"),
    ):
        for day in (utc(2026, 3, 29), utc(2026, 10, 25), utc(2026, 3, 8), utc(2026, 11, 1)):
            assert starts_between(window, day, day + timedelta(days=1)) == [
                day + timedelta(hours=2, minutes=30)
            ]


# --- the rule itself: an instant is covered iff it lies in some occurrence --------------

SCHEDULES = [
    RRULE_0230,
    {"rrule": "FREQ=DAILY;BYHOUR=1;BYMINUTE=15;BYSECOND=0"},
    {"rrule": "FREQ=WEEKLY;BYDAY=SA,SU;BYHOUR=2;BYMINUTE=0;BYSECOND=0"},
    CRON_0230,
    {"cron": "15 1 * * *"},
    {"cron": "0 2 * * 6,0"},
]
AROUND_CHANGES = [utc(2026, 3, 6), utc(2026, 3, 27), utc(2026, 10, 23), utc(2026, 10, 30)]


def reference_starts(
    schedule: dict[str, str], timezone: str, until: datetime
) -> Iterator[datetime]:
    """Occurrence starts in UTC, straight from dateutil or cronsim, in order."""
    local_start = START.astimezone(ZoneInfo(timezone))
    if "rrule" in schedule:
        found = rrulestr(schedule["rrule"], dtstart=local_start)
    else:
        found = CronSim(schedule["cron"], local_start)
    starts = (start.astimezone(UTC) for start in found)
    return takewhile(lambda start: start <= until, starts)


@given(
    schedule=st.sampled_from(SCHEDULES),
    timezone=st.sampled_from([BERLIN, NEW_YORK]),
    minutes=st.integers(min_value=1, max_value=360),
    around=st.sampled_from(AROUND_CHANGES),
    offset=st.integers(min_value=0, max_value=5 * 24 * 3600),
)
# The instants the examples above were written for: inside the first pass of a repeated
# hour, and just before a start that a gap pushed later.
@example(RRULE_0230, BERLIN, 60, utc(2026, 10, 23), 2 * 86400 + 4200)
@example(CRON_0230, BERLIN, 60, utc(2026, 10, 23), 2 * 86400 + 4200)
@example(RRULE_0230, BERLIN, 60, utc(2026, 3, 27), 2 * 86400 + 4500)
def test_an_instant_is_covered_iff_it_lies_in_some_occurrence_and_the_next_start_follows(
    schedule: dict[str, str], timezone: str, minutes: int, around: datetime, offset: int
) -> None:
    at = around + timedelta(seconds=offset)
    window = recurring(**schedule, timezone=timezone, minutes=minutes, starts_at=START)
    duration = timedelta(minutes=minutes)
    starts = list(reference_starts(schedule, timezone, at + timedelta(days=8)))
    covering = [(s, s + duration) for s in starts if s <= at < s + duration]
    assert window.occurrence_at(at) == (covering[-1] if covering else None)
    assert window.next_start_after(at) == min(s for s in starts if s > at)
