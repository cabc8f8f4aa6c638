"""Between the stored rows and the state machine's values."""

from __future__ import annotations

from typing import Any

from upwatch.heartbeats.machine import HeartbeatStatus, Live, PingKind, Rules, RunDraft
from upwatch.heartbeats.schedule import Schedule
from upwatch.models import Heartbeat, HeartbeatState


def schedule_of(heartbeat: Heartbeat) -> Schedule:
    return Schedule(
        period_seconds=heartbeat.period_seconds,
        cron=heartbeat.cron,
        timezone=heartbeat.timezone,
        grace_seconds=heartbeat.grace_seconds,
    )


def rules_of(heartbeat: Heartbeat) -> Rules:
    return Rules(
        schedule=schedule_of(heartbeat),
        max_runtime_seconds=heartbeat.max_runtime_seconds,
        min_runtime_seconds=heartbeat.min_runtime_seconds,
        is_active=heartbeat.is_active,
    )


def live_of(state: HeartbeatState) -> Live:
    return Live(
        status=HeartbeatStatus(state.status),
        reason=state.reason,
        status_changed_at=state.status_changed_at,
        deadline_at=state.deadline_at,
        last_ping_at=state.last_ping_at,
        last_ping_kind=PingKind(state.last_ping_kind) if state.last_ping_kind else None,
        last_exit_code=state.last_exit_code,
        last_duration_ms=state.last_duration_ms,
        pings=state.pings,
        open_runs=[RunDraft.from_reference(item) for item in state.open_runs or []],
    )


def state_values(live: Live) -> dict[str, Any]:
    """The columns of the state row (without its key)."""
    return {
        "status": str(live.status),
        "reason": live.reason,
        "status_changed_at": live.status_changed_at,
        "deadline_at": live.deadline_at,
        "last_ping_at": live.last_ping_at,
        "last_ping_kind": None if live.last_ping_kind is None else str(live.last_ping_kind),
        "last_exit_code": live.last_exit_code,
        "last_duration_ms": live.last_duration_ms,
        "pings": live.pings,
        "open_runs": [run.reference() for run in live.open_runs],
    }


def apply_to(state: HeartbeatState, live: Live) -> None:
    for name, value in state_values(live).items():
        setattr(state, name, value)
