"""The heartbeat state machine, rule by rule (pure: no clock, no I/O)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest

from upwatch.heartbeats.machine import (
    MAX_OPEN_RUNS,
    MISSED,
    NEVER_FINISHED,
    REASON_OUTPUT_CHARS,
    Effect,
    HeartbeatStatus,
    Live,
    Ping,
    PingKind,
    Rules,
    RunDraft,
    RunOutcome,
    Transition,
    failure_reason,
    miss,
    pause,
    rearm,
    receive,
    resume,
)
from upwatch.heartbeats.schedule import Schedule

UP, DOWN, PENDING, PAUSED = (
    HeartbeatStatus.UP,
    HeartbeatStatus.DOWN,
    HeartbeatStatus.PENDING,
    HeartbeatStatus.PAUSED,
)
T0 = datetime(2026, 1, 1, tzinfo=UTC)
PERIOD = 3600
GRACE = 300
HOURLY = Schedule(period_seconds=PERIOD, cron=None, timezone="UTC", grace_seconds=GRACE)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def deadline_after(seconds: float) -> datetime:
    """Where a ping at `seconds` puts the deadline on the hourly schedule."""
    return at(seconds + PERIOD + GRACE)


def rules(
    max_runtime_seconds: int | None = None,
    min_runtime_seconds: int | None = None,
    is_active: bool = True,
) -> Rules:
    return Rules(HOURLY, max_runtime_seconds, min_runtime_seconds, is_active)


def start(seconds: float, rid: str | None = None) -> Ping:
    return Ping(PingKind.START, at(seconds), rid=rid)


def success(seconds: float, rid: str | None = None) -> Ping:
    return Ping(PingKind.SUCCESS, at(seconds), exit_code=None, rid=rid)


def failure(
    seconds: float, exit_code: int | None = 1, body: str | None = None, rid: str | None = None
) -> Ping:
    return Ping(PingKind.FAILURE, at(seconds), exit_code=exit_code, rid=rid, body=body)


def log(seconds: float) -> Ping:
    return Ping(PingKind.LOG, at(seconds), body="just saying")


def up_at(seconds: float = 0) -> Live:
    """A heartbeat brought up by a success ping at `seconds`."""
    live = Live(status=PENDING)
    receive(rules(), live, success(seconds))
    assert live.status is UP
    return live


def feed(the_rules: Rules, live: Live, pings: list[Ping]) -> list[Effect]:
    return [receive(the_rules, live, ping) for ping in pings]


# --- success, start, runs ---------------------------------------------------------------


def test_a_success_brings_a_pending_heartbeat_up_with_a_deadline_of_period_plus_grace() -> None:
    live = Live(status=PENDING)
    effect = receive(rules(), live, success(10))
    assert effect.transition == Transition(PENDING, UP, "success ping", at(10))
    assert live.status is UP
    assert live.reason is None
    assert live.status_changed_at == at(10)
    assert live.deadline_at == at(10 + 3600 + 300)
    assert live.last_ping_at == at(10)
    assert live.last_ping_kind is PingKind.SUCCESS
    assert live.pings == 1


@pytest.mark.parametrize(
    ("pings", "status", "reason"),
    [
        pytest.param([success(0)], UP, None, id="success-brings-a-pending-heartbeat-up"),
        pytest.param([start(0)], PENDING, None, id="a-start-alone-is-not-a-success"),
        pytest.param([log(0)], PENDING, None, id="a-log-alone-changes-nothing"),
        pytest.param([failure(0)], DOWN, "exit code 1", id="failure-brings-a-pending-one-down"),
        pytest.param(
            [success(0), failure(10, exit_code=None)],
            DOWN,
            "failure ping",
            id="failure-without-exit-code-brings-an-up-one-down",
        ),
        pytest.param([failure(0), success(10)], UP, None, id="success-after-failure-recovers"),
        pytest.param(
            [failure(0), start(10), log(20)],
            DOWN,
            "exit code 1",
            id="start-and-log-leave-a-down-heartbeat-down",
        ),
        pytest.param(
            [success(0), start(10), success(20)], UP, None, id="a-finished-run-keeps-it-up"
        ),
    ],
)
def test_the_status_follows_the_pings(
    pings: list[Ping], status: HeartbeatStatus, reason: str | None
) -> None:
    live = Live(status=PENDING)
    feed(rules(), live, pings)
    assert live.status is status
    assert live.reason == reason


def test_a_start_then_success_gives_a_run_with_its_duration() -> None:
    live = up_at(0)
    opened = receive(rules(), live, start(100))
    assert opened.transition is None  # starting is not succeeding
    assert opened.run is not None
    assert opened.run.outcome is RunOutcome.IN_PROGRESS
    assert live.open_runs == [opened.run]

    ended = receive(rules(), live, success(112.345))
    assert ended.run is opened.run
    assert ended.run.started_at == at(100)
    assert ended.run.ended_at == at(112.345)
    assert ended.run.duration_ms == 12345.0
    assert ended.run.outcome is RunOutcome.SUCCESS
    assert ended.run.changed
    assert live.last_duration_ms == 12345.0
    assert live.open_runs == []


def test_every_ping_but_log_moves_the_deadline() -> None:
    live = up_at(0)
    receive(rules(), live, start(1000))
    assert live.deadline_at == deadline_after(1000)
    receive(rules(), live, log(2000))
    assert live.deadline_at == deadline_after(1000)
    receive(rules(), live, success(2500))
    assert live.deadline_at == deadline_after(2500)


def test_a_second_start_closes_the_first_run_as_timed_out_and_opens_a_new_one() -> None:
    live = up_at(0)
    first = receive(rules(), live, start(100)).run
    effect = receive(rules(), live, start(200))
    assert first is not None
    assert effect.closed == (first,)
    assert first.outcome is RunOutcome.TIMEOUT
    assert first.changed
    assert effect.run is not None
    assert effect.run is not first
    assert effect.run.started_at == at(200)
    assert live.open_runs == [effect.run]
    assert live.status is UP  # a start never changes the status


def test_a_start_with_another_run_id_closes_nothing() -> None:
    live = up_at(0)
    first = receive(rules(), live, start(100, rid="A")).run
    effect = receive(rules(), live, start(200, rid="B"))
    assert effect.closed == ()
    assert live.open_runs == [first, effect.run]


def test_overlapping_runs_with_different_run_ids_end_independently() -> None:
    live = up_at(0)
    run_a = receive(rules(), live, start(100, rid="A")).run
    run_b = receive(rules(), live, start(110, rid="B")).run

    ended_b = receive(rules(), live, success(125, rid="B"))
    assert ended_b.run is run_b
    assert ended_b.run.duration_ms == 15000.0
    assert live.open_runs == [run_a]
    assert run_a is not None
    assert run_a.outcome is RunOutcome.IN_PROGRESS

    ended_a = receive(rules(), live, success(140, rid="A"))
    assert ended_a.run is run_a
    assert ended_a.run.duration_ms == 40000.0
    assert live.open_runs == []


def test_an_end_ping_without_a_run_id_does_not_end_a_run_that_has_one() -> None:
    live = up_at(0)
    run_a = receive(rules(), live, start(100, rid="A")).run
    effect = receive(rules(), live, success(110))
    assert effect.run is not run_a
    assert effect.run is not None
    assert effect.run.started_at is None
    assert live.open_runs == [run_a]


@pytest.mark.parametrize(
    ("ping", "outcome"),
    [
        pytest.param(success(50), RunOutcome.SUCCESS, id="success"),
        pytest.param(failure(50, exit_code=3), RunOutcome.FAILURE, id="failure"),
    ],
)
def test_an_end_ping_without_any_start_creates_a_run_without_a_start_time(
    ping: Ping, outcome: RunOutcome
) -> None:
    live = Live(status=PENDING)
    effect = receive(rules(), live, ping)
    assert effect.run is not None
    assert effect.run.started_at is None
    assert effect.run.opened_at == at(50)
    assert effect.run.ended_at == at(50)
    assert effect.run.duration_ms is None
    assert effect.run.outcome is outcome
    assert effect.closed == ()
    assert live.open_runs == []
    assert live.last_duration_ms is None


# --- failure ------------------------------------------------------------------------------


def test_a_failure_ping_turns_the_heartbeat_down_with_the_exit_code_and_output() -> None:
    live = up_at(0)
    effect = receive(rules(), live, failure(60, exit_code=1, body="backup failed: disk full\n"))
    assert effect.transition == Transition(
        UP, DOWN, "exit code 1: backup failed: disk full", at(60)
    )
    assert live.status is DOWN
    assert live.reason == "exit code 1: backup failed: disk full"
    assert "exit code 1" in live.reason
    assert effect.run is not None
    assert effect.run.outcome is RunOutcome.FAILURE
    assert effect.run.exit_code == 1


def test_a_failure_ping_ends_the_open_run_as_failed_with_its_duration() -> None:
    live = up_at(0)
    run = receive(rules(), live, start(100)).run
    effect = receive(rules(), live, failure(130, exit_code=2))
    assert effect.run is run
    assert effect.run.outcome is RunOutcome.FAILURE
    assert effect.run.exit_code == 2
    assert effect.run.duration_ms == 30000.0
    assert live.open_runs == []


def test_a_failure_ping_still_moves_last_ping_at() -> None:
    live = up_at(0)
    receive(rules(), live, failure(60, exit_code=4))
    assert live.last_ping_at == at(60)
    assert live.last_ping_kind is PingKind.FAILURE
    assert live.last_exit_code == 4
    assert live.pings == 2


def test_a_success_after_a_failure_brings_the_heartbeat_back_up() -> None:
    live = up_at(0)
    receive(rules(), live, failure(60))
    effect = receive(rules(), live, success(120))
    assert effect.transition == Transition(DOWN, UP, "success ping", at(120))
    assert live.status is UP
    assert live.reason is None
    assert live.deadline_at == deadline_after(120)


@pytest.mark.parametrize(
    ("exit_code", "body", "reason"),
    [
        pytest.param(None, None, "failure ping", id="no-exit-code-no-output"),
        pytest.param(None, "  oops \n", "failure ping: oops", id="output-is-stripped"),
        pytest.param(2, "", "exit code 2", id="empty-output-is-left-out"),
        pytest.param(2, " \n\t", "exit code 2", id="blank-output-is-left-out"),
        pytest.param(137, "Killed", "exit code 137: Killed", id="exit-code-and-output"),
    ],
)
def test_the_failure_reason_names_the_exit_code_and_the_output(
    exit_code: int | None, body: str | None, reason: str
) -> None:
    assert failure_reason(failure(0, exit_code=exit_code, body=body)) == reason


def test_the_failure_reason_keeps_the_end_of_long_output() -> None:
    tail = "Traceback ... OSError: [Errno 28] No space left on device"
    body = "START-OF-LOG " + "progress line\n" * 200 + tail
    reason = failure_reason(failure(0, exit_code=1, body=body))
    kept = reason.removeprefix("exit code 1: ")
    assert len(kept) == REASON_OUTPUT_CHARS
    assert kept == body[-REASON_OUTPUT_CHARS:]
    assert reason.endswith(tail)
    assert "START-OF-LOG" not in reason


def test_output_of_exactly_the_limit_is_kept_whole() -> None:
    body = "x" * (REASON_OUTPUT_CHARS - 1) + "!"
    assert failure_reason(failure(0, body=body)) == f"exit code 1: {body}"


# --- log ----------------------------------------------------------------------------------


def test_a_log_ping_changes_nothing_but_the_ping_counter() -> None:
    live = up_at(0)
    receive(rules(), live, start(100, rid="A"))
    expected = copy.deepcopy(live)
    expected.pings += 1

    effect = receive(rules(), live, log(500))

    assert effect == Effect(run=None, transition=None, closed=())
    assert live == expected


# --- run time limits ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limits", "ran_seconds", "status", "reason"),
    [
        pytest.param(
            {"min_runtime_seconds": 30},
            10,
            DOWN,
            "finished too quickly: ran 10.0 s, under the minimum run time of 30 s",
            id="shorter-than-min-runtime-is-down",
        ),
        pytest.param({"min_runtime_seconds": 30}, 30, UP, None, id="exactly-min-runtime-is-up"),
        pytest.param(
            {"max_runtime_seconds": 60},
            90.5,
            DOWN,
            "ran too long: 90.5 s, over the maximum run time of 60 s",
            id="longer-than-max-runtime-is-down",
        ),
        pytest.param({"max_runtime_seconds": 60}, 60, UP, None, id="exactly-max-runtime-is-up"),
        pytest.param(
            {"min_runtime_seconds": 30, "max_runtime_seconds": 60},
            45,
            UP,
            None,
            id="between-the-limits-is-up",
        ),
    ],
)
def test_a_finished_run_is_judged_by_its_run_time_limits(
    limits: dict[str, int], ran_seconds: float, status: HeartbeatStatus, reason: str | None
) -> None:
    the_rules = rules(**limits)
    live = Live(status=PENDING)
    receive(the_rules, live, start(0))
    effect = receive(the_rules, live, success(ran_seconds))
    assert live.status is status
    assert live.reason == reason
    assert effect.run is not None
    assert effect.run.outcome is RunOutcome.SUCCESS  # the run itself did succeed
    if reason is not None:
        assert effect.transition == Transition(PENDING, DOWN, reason, at(ran_seconds))


def test_a_run_without_a_start_is_not_judged_by_the_run_time_limits() -> None:
    the_rules = rules(min_runtime_seconds=30, max_runtime_seconds=60)
    live = Live(status=PENDING)
    receive(the_rules, live, success(0))
    assert live.status is UP


# --- missed deadlines ---------------------------------------------------------------------


def test_a_miss_before_the_deadline_changes_nothing() -> None:
    live = up_at(0)
    receive(rules(), live, start(100))
    expected = copy.deepcopy(live)
    assert live.deadline_at is not None

    assert miss(rules(), live, live.deadline_at - timedelta(microseconds=1)) is None
    assert live == expected


@pytest.mark.parametrize(
    "late",
    [
        pytest.param(timedelta(0), id="exactly-at-the-deadline"),
        pytest.param(timedelta(seconds=1), id="a-second-late"),
        pytest.param(timedelta(days=3), id="noticed-days-later"),
    ],
)
def test_a_miss_at_or_after_the_deadline_is_down_and_dated_at_the_deadline(
    late: timedelta,
) -> None:
    live = up_at(0)
    deadline = deadline_after(0)
    transition = miss(rules(), live, deadline + late)
    assert transition == Transition(UP, DOWN, MISSED, deadline)
    assert transition.reason == "missed"
    assert live.status is DOWN
    assert live.reason == "missed"
    assert live.status_changed_at == deadline
    assert live.deadline_at is None


def test_a_resumed_heartbeat_that_never_pings_is_missed_too() -> None:
    live = Live(status=PAUSED)
    resume(rules(), live, at(0))
    transition = miss(rules(), live, at(10_000))
    assert transition == Transition(PENDING, DOWN, MISSED, deadline_after(0))


def test_a_miss_with_an_open_run_times_it_out_but_a_later_success_still_ends_it() -> None:
    live = up_at(0)
    run = receive(rules(), live, start(100)).run
    assert run is not None

    transition = miss(rules(), live, deadline_after(100))
    assert transition == Transition(UP, DOWN, NEVER_FINISHED, deadline_after(100))
    assert transition.reason == "started but never finished"
    assert run.outcome is RunOutcome.TIMEOUT
    assert run.changed
    assert live.open_runs == [run]  # timed out, but it may still end

    effect = receive(rules(), live, success(5000))
    assert effect.run is run
    assert run.outcome is RunOutcome.SUCCESS
    assert run.duration_ms == 4_900_000.0
    assert effect.transition == Transition(DOWN, UP, "success ping", at(5000))
    assert live.open_runs == []


@pytest.mark.parametrize(
    ("max_runtime", "deadline", "reason"),
    [
        pytest.param(
            600,
            at(100 + 600),
            "running longer than the maximum run time of 600 s",
            id="max-runtime-before-the-period-deadline",
        ),
        pytest.param(
            7200, deadline_after(100), NEVER_FINISHED, id="period-deadline-before-max-runtime"
        ),
    ],
)
def test_after_a_start_the_deadline_is_the_earlier_of_period_and_max_runtime(
    max_runtime: int, deadline: datetime, reason: str
) -> None:
    the_rules = rules(max_runtime_seconds=max_runtime)
    live = Live(status=PENDING)
    receive(the_rules, live, success(0))
    receive(the_rules, live, start(100))
    assert live.deadline_at == deadline

    assert miss(the_rules, live, deadline) == Transition(UP, DOWN, reason, deadline)


def test_the_max_runtime_deadline_follows_the_oldest_open_run() -> None:
    the_rules = rules(max_runtime_seconds=600)
    live = Live(status=PENDING)
    receive(the_rules, live, start(0, rid="A"))
    receive(the_rules, live, start(300, rid="B"))
    assert live.deadline_at == at(0 + 600)


def test_a_late_noticed_miss_gives_the_reason_it_had_at_the_deadline() -> None:
    # Period deadline (1 h 5 min after the start) comes before the max run time (2 h): at the
    # deadline the run had been going 1 h 5 min, under its limit, so the miss is "started but
    # never finished". Noticing it late (a restart, or the next ping arriving first) must not
    # change what happened at the deadline the change is dated at.
    the_rules = rules(max_runtime_seconds=7200)
    live = Live(status=PENDING)
    receive(the_rules, live, success(0))
    receive(the_rules, live, start(100))
    deadline = deadline_after(100)
    assert live.deadline_at == deadline

    transition = miss(the_rules, live, at(100 + 3 * 7200))

    assert transition == Transition(UP, DOWN, NEVER_FINISHED, deadline)


# --- pause, resume, no deadline while down -----------------------------------------------


@pytest.mark.parametrize(
    "pings",
    [
        pytest.param([success(10)], id="success"),
        pytest.param([failure(10, body="boom")], id="failure"),
        pytest.param([start(10), success(70)], id="start-then-success"),
        pytest.param([start(10), failure(70)], id="start-then-failure"),
        pytest.param([start(10, rid="A"), start(20, rid="A")], id="start-then-start"),
    ],
)
def test_a_paused_heartbeat_records_runs_but_never_changes_status(pings: list[Ping]) -> None:
    paused = rules(is_active=False)
    live = Live(status=PAUSED, reason="paused", status_changed_at=at(0))
    effects = feed(paused, live, pings)
    assert all(effect.transition is None for effect in effects)
    assert all(effect.run is not None for effect in effects)
    assert live.status is PAUSED
    assert live.reason == "paused"
    assert live.status_changed_at == at(0)
    assert live.deadline_at is None
    assert live.last_ping_at == pings[-1].received_at
    assert live.pings == len(pings)


def test_a_run_finished_while_paused_still_has_its_duration() -> None:
    paused = rules(is_active=False, max_runtime_seconds=10)
    live = Live(status=PAUSED)
    receive(paused, live, start(0))
    effect = receive(paused, live, success(60))
    assert effect.run is not None
    assert effect.run.duration_ms == 60_000.0
    assert live.status is PAUSED


def test_a_paused_heartbeat_ignores_a_stale_deadline() -> None:
    live = Live(status=PAUSED, deadline_at=at(100))
    assert miss(rules(is_active=False), live, at(200)) is None
    assert live.status is PAUSED
    assert live.deadline_at is None


def test_pausing_clears_the_deadline() -> None:
    live = up_at(0)
    transition = pause(live, at(50))
    assert transition == Transition(UP, PAUSED, "paused", at(50))
    assert live.deadline_at is None
    assert live.reason == "paused"


def test_resuming_makes_the_heartbeat_pending_with_a_deadline_from_now() -> None:
    live = up_at(0)
    pause(live, at(50))
    transition = resume(rules(), live, at(90_000))
    assert transition == Transition(PAUSED, PENDING, "resumed", at(90_000))
    assert live.status is PENDING
    assert live.deadline_at == deadline_after(90_000)


@pytest.mark.parametrize(
    ("pings", "last"),
    [
        pytest.param([failure(0)], 0, id="after-a-failure"),
        pytest.param([failure(0), start(10)], 10, id="after-a-start-while-down"),
        pytest.param([failure(0), failure(10)], 10, id="after-a-second-failure"),
        pytest.param([start(0), success(5)], 5, id="after-a-run-shorter-than-the-min-runtime"),
    ],
)
def test_a_down_heartbeat_still_expects_its_next_run(pings: list[Ping], last: int) -> None:
    """A failed run is still a run: the deadline moves, so a job that then stops running
    altogether is reported as missed too."""
    the_rules = rules(min_runtime_seconds=60)
    live = up_at(-100)
    feed(the_rules, live, pings)
    assert live.status is DOWN
    assert live.deadline_at == deadline_after(last)


def test_a_miss_on_a_down_heartbeat_keeps_it_down_with_the_reason_missed() -> None:
    live = Live(status=DOWN, reason="exit code 1", deadline_at=at(100))
    transition = miss(rules(), live, at(200))
    assert transition == Transition(DOWN, DOWN, "missed", at(100))
    assert transition is not None
    assert not transition.changes_status  # no state change row: it was down already
    assert live.status is DOWN
    assert live.reason == "missed"
    assert live.deadline_at is None


def test_a_miss_is_declared_once() -> None:
    live = Live(status=DOWN, reason="exit code 1", deadline_at=at(100))
    miss(rules(), live, at(200))
    assert miss(rules(), live, at(300)) is None


def test_rearming_after_a_schedule_change_counts_from_the_last_ping() -> None:
    live = up_at(1000)
    daily = Rules(
        schedule=Schedule(period_seconds=86400, cron=None, timezone="UTC", grace_seconds=60)
    )
    rearm(daily, live)
    assert live.deadline_at == at(1000 + 86400 + 60)


def test_rearming_a_never_pinged_heartbeat_keeps_its_deadline() -> None:
    live = Live(status=PENDING, deadline_at=at(500))
    rearm(rules(), live)
    assert live.deadline_at == at(500)


# --- open run cap -------------------------------------------------------------------------


def test_beyond_the_open_run_cap_a_start_closes_the_oldest_open_run() -> None:
    live = up_at(0)
    runs = [receive(rules(), live, start(10 + i, rid=f"r{i}")).run for i in range(MAX_OPEN_RUNS)]
    assert len(live.open_runs) == MAX_OPEN_RUNS
    assert all(run is not None and run.outcome is RunOutcome.IN_PROGRESS for run in runs)

    effect = receive(rules(), live, start(1000, rid="one-too-many"))

    oldest = runs[0]
    assert oldest is not None
    assert effect.closed == (oldest,)
    assert oldest.outcome is RunOutcome.TIMEOUT
    assert len(live.open_runs) == MAX_OPEN_RUNS
    assert oldest not in live.open_runs
    assert live.open_runs[-1] is effect.run
    assert [run.rid for run in live.open_runs[:-1]] == [f"r{i}" for i in range(1, MAX_OPEN_RUNS)]


def test_at_the_cap_a_restart_of_the_same_run_id_closes_only_that_run() -> None:
    live = up_at(0)
    runs: list[RunDraft | None] = [
        receive(rules(), live, start(10 + i, rid=f"r{i}")).run for i in range(MAX_OPEN_RUNS)
    ]
    effect = receive(rules(), live, start(1000, rid="r7"))
    assert effect.closed == (runs[7],)
    assert len(live.open_runs) == MAX_OPEN_RUNS
    assert runs[0] in live.open_runs
