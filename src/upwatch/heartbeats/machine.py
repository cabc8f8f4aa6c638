"""The heartbeat state machine: live state + one ping (or one missed deadline) → new state,
the run it touched and the status change, if any.

Pure: no I/O, no clock. The rules:

- Every ping but `log` moves the deadline to the next expected time + grace; `log` is only
  recorded.
- `start` opens a run; a still-open run with the same run id (or none) is closed as timed
  out. The status does not change: starting is not succeeding.
- `success` (or exit code 0) ends the matching open run (same run id, newest first) and
  brings the heartbeat up, unless the run was shorter than `min_runtime_seconds` or longer
  than `max_runtime_seconds`: then it is down with that reason.
- `failure` (or exit code 1-255) ends the run as failed and turns the heartbeat down at once,
  with the exit code and the captured output in the reason. It still counts as a run.
- A deadline is armed while the heartbeat is active and has been pinged (or resumed):
  missing it turns the heartbeat down with the reason `missed`, `started but never
  finished` (a run is open), or the exceeded max run time; one already down after a failure
  takes that reason (its job has not run since). Open runs are then marked timed out but
  may still end. A miss is declared once: the deadline is cleared until the next ping.
- A paused heartbeat records pings and runs but never changes status and has no deadline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from upwatch.heartbeats.schedule import Schedule

MAX_OPEN_RUNS = 50  # beyond this the oldest open run is closed as timed out
REASON_OUTPUT_CHARS = 300
MISSED = "missed"
NEVER_FINISHED = "started but never finished"


class HeartbeatStatus(StrEnum):
    PENDING = "pending"  # never pinged (or resumed): nothing to judge yet
    UP = "up"
    DOWN = "down"
    PAUSED = "paused"


class PingKind(StrEnum):
    SUCCESS = "success"
    START = "start"
    FAILURE = "failure"
    LOG = "log"


class RunOutcome(StrEnum):
    IN_PROGRESS = "in_progress"
    SUCCESS = "success"
    FAILURE = "failure"
    TIMEOUT = "timeout"


@dataclass(frozen=True, slots=True)
class Ping:
    kind: PingKind
    received_at: datetime
    exit_code: int | None = None
    rid: str | None = None
    body: str | None = None


@dataclass(frozen=True, slots=True)
class Rules:
    schedule: Schedule
    max_runtime_seconds: int | None = None
    min_runtime_seconds: int | None = None
    is_active: bool = True


@dataclass(slots=True)
class RunDraft:
    """A run as the batch sees it: `id` is None until the writer inserts it."""

    rid: str | None
    opened_at: datetime
    started_at: datetime | None
    id: int | None = None
    ended_at: datetime | None = None
    duration_ms: float | None = None
    outcome: RunOutcome = RunOutcome.IN_PROGRESS
    exit_code: int | None = None
    changed: bool = False  # an existing run (id known) that needs an update

    def end(self, at: datetime, outcome: RunOutcome, exit_code: int | None) -> None:
        self.ended_at, self.outcome, self.exit_code = at, outcome, exit_code
        if self.started_at is not None:
            self.duration_ms = round((at - self.started_at).total_seconds() * 1000, 3)
        self.changed = True

    def reference(self) -> dict[str, Any]:
        """How an open run is kept in the state row."""
        if self.id is None or self.started_at is None:
            raise ValueError("only a stored, started run is kept open")
        return {"id": self.id, "rid": self.rid, "started_at": self.started_at.isoformat()}

    @classmethod
    def from_reference(cls, data: dict[str, Any]) -> RunDraft:
        started = datetime.fromisoformat(data["started_at"])
        return cls(rid=data["rid"], opened_at=started, started_at=started, id=data["id"])


@dataclass(slots=True)
class Live:
    status: HeartbeatStatus
    reason: str | None = None
    status_changed_at: datetime | None = None
    deadline_at: datetime | None = None
    last_ping_at: datetime | None = None
    last_ping_kind: PingKind | None = None
    last_exit_code: int | None = None
    last_duration_ms: float | None = None
    pings: int = 0
    open_runs: list[RunDraft] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Transition:
    from_status: HeartbeatStatus
    to_status: HeartbeatStatus
    reason: str
    at: datetime

    @property
    def changes_status(self) -> bool:
        """False for a miss of a heartbeat already down: a new reason, no state change."""
        return self.from_status is not self.to_status


@dataclass(frozen=True, slots=True)
class Effect:
    run: RunDraft | None  # the run this ping opened or ended
    transition: Transition | None
    closed: tuple[RunDraft, ...] = ()  # runs this ping closed as timed out


def receive(rules: Rules, live: Live, ping: Ping) -> Effect:
    live.pings += 1
    if ping.kind is PingKind.LOG:
        return Effect(run=None, transition=None)
    live.last_ping_at, live.last_ping_kind = ping.received_at, ping.kind
    live.last_exit_code = ping.exit_code
    if ping.kind is PingKind.START:
        run, closed = _open_run(live, ping)
        verdict: tuple[HeartbeatStatus, str] | None = None
    else:
        run, closed = _end_run(live, ping), ()
        live.last_duration_ms = run.duration_ms
        verdict = _judge(rules, ping, run)
    transition = None
    if verdict is not None and rules.is_active:
        transition = _move(live, verdict[0], verdict[1], ping.received_at)
    _arm(rules, live, ping.received_at)
    return Effect(run=run, transition=transition, closed=closed)


def miss(rules: Rules, live: Live, now: datetime) -> Transition | None:
    """The deadline passed (or not yet: then nothing happens). The miss is dated at the
    deadline, however late it is noticed (after a restart, say). A heartbeat already down
    (a failed run) stays down with the new reason: its job has not even run since; the
    transition returned then goes from down to down (a miss, not a status change)."""
    deadline = live.deadline_at
    if deadline is None or now < deadline:
        return None
    live.deadline_at = None
    if not rules.is_active or live.status is HeartbeatStatus.PAUSED:
        return None
    reason = MISSED
    if live.open_runs:
        reason = _overrun_reason(rules, live, deadline) or NEVER_FINISHED
        for run in live.open_runs:
            run.outcome, run.changed = RunOutcome.TIMEOUT, True
    if live.status is HeartbeatStatus.DOWN:
        live.reason = reason
        return Transition(HeartbeatStatus.DOWN, HeartbeatStatus.DOWN, reason, deadline)
    return _move(live, HeartbeatStatus.DOWN, reason, deadline)


def pause(live: Live, now: datetime) -> Transition | None:
    live.deadline_at = None
    return _move(live, HeartbeatStatus.PAUSED, "paused", now)


def resume(rules: Rules, live: Live, now: datetime) -> Transition | None:
    """Back to `pending` with the timer restarted from now."""
    transition = _move(live, HeartbeatStatus.PENDING, "resumed", now)
    live.deadline_at = rules.schedule.deadline_after(now)
    return transition


def rearm(rules: Rules, live: Live) -> None:
    """The schedule changed: the deadline follows from the last ping, or from the resume
    that restarted the timer after it."""
    moments = [live.last_ping_at]
    if live.status is HeartbeatStatus.PENDING:  # resumed: the timer restarted then
        moments.append(live.status_changed_at)
    known = [moment for moment in moments if moment is not None]
    if known:
        _arm(rules, live, max(known))


def _open_run(live: Live, ping: Ping) -> tuple[RunDraft, tuple[RunDraft, ...]]:
    closed = [run for run in live.open_runs if run.rid == ping.rid]
    if len(live.open_runs) - len(closed) >= MAX_OPEN_RUNS:
        closed.append(next(run for run in live.open_runs if run not in closed))
    for run in closed:
        run.outcome, run.changed = RunOutcome.TIMEOUT, True
    live.open_runs = [run for run in live.open_runs if run not in closed]
    run = RunDraft(rid=ping.rid, opened_at=ping.received_at, started_at=ping.received_at)
    live.open_runs.append(run)
    return run, tuple(closed)


def _end_run(live: Live, ping: Ping) -> RunDraft:
    outcome = RunOutcome.FAILURE if ping.kind is PingKind.FAILURE else RunOutcome.SUCCESS
    matching = [run for run in live.open_runs if run.rid == ping.rid]
    if matching:
        run = matching[-1]
        live.open_runs.remove(run)
    else:  # a job that only reports its end: a run without a start
        run = RunDraft(rid=ping.rid, opened_at=ping.received_at, started_at=None)
    run.end(ping.received_at, outcome, ping.exit_code)
    return run


def _judge(rules: Rules, ping: Ping, run: RunDraft) -> tuple[HeartbeatStatus, str]:
    if ping.kind is PingKind.FAILURE:
        return HeartbeatStatus.DOWN, failure_reason(ping)
    seconds = None if run.duration_ms is None else run.duration_ms / 1000
    if seconds is not None and rules.min_runtime_seconds and seconds < rules.min_runtime_seconds:
        return HeartbeatStatus.DOWN, (
            f"finished too quickly: ran {seconds:.1f} s, "
            f"under the minimum run time of {rules.min_runtime_seconds} s"
        )
    if seconds is not None and rules.max_runtime_seconds and seconds > rules.max_runtime_seconds:
        return HeartbeatStatus.DOWN, (
            f"ran too long: {seconds:.1f} s, over the maximum run time of "
            f"{rules.max_runtime_seconds} s"
        )
    return HeartbeatStatus.UP, "success ping"


def failure_reason(ping: Ping) -> str:
    head = "failure ping" if ping.exit_code is None else f"exit code {ping.exit_code}"
    output = (ping.body or "").strip()
    if not output:
        return head
    if len(output) > REASON_OUTPUT_CHARS:
        output = output[-REASON_OUTPUT_CHARS:]  # the end of a job's output says why it failed
    return f"{head}: {output}"


def _overrun_reason(rules: Rules, live: Live, at: datetime) -> str | None:
    if not rules.max_runtime_seconds:
        return None
    limit = timedelta(seconds=rules.max_runtime_seconds)
    if any(run.started_at and run.started_at + limit <= at for run in live.open_runs):
        return f"running longer than the maximum run time of {rules.max_runtime_seconds} s"
    return None


def _move(live: Live, status: HeartbeatStatus, reason: str, at: datetime) -> Transition | None:
    previous = live.status
    live.reason = None if status is HeartbeatStatus.UP else reason
    if previous is status:
        return None
    live.status, live.status_changed_at = status, at
    return Transition(from_status=previous, to_status=status, reason=reason, at=at)


def _arm(rules: Rules, live: Live, since: datetime) -> None:
    """The deadline after a ping at `since` (none while paused)."""
    if not rules.is_active or live.status is HeartbeatStatus.PAUSED:
        live.deadline_at = None
        return
    deadline = rules.schedule.deadline_after(since)
    if rules.max_runtime_seconds:
        starts = [run.started_at for run in live.open_runs if run.started_at is not None]
        if starts:
            overrun = min(starts) + timedelta(seconds=rules.max_runtime_seconds)
            deadline = min(deadline, overrun)
    live.deadline_at = deadline
