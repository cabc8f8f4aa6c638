"""Heartbeat rows → the API's list and detail projections."""

from __future__ import annotations

from typing import Any

from upwatch.heartbeats.live import schedule_of
from upwatch.heartbeats.machine import HeartbeatStatus, PingKind
from upwatch.heartbeats.repository import HeartbeatRow
from upwatch.heartbeats.schemas import HeartbeatDetail, HeartbeatSummary


def ping_url(base_url: str, token: str) -> str:
    return f"{base_url}/ping/{token}"


def _summary_fields(row: HeartbeatRow) -> dict[str, Any]:
    heartbeat, state = row.heartbeat, row.state
    return {
        "id": heartbeat.public_id,
        "name": heartbeat.name,
        "slug": heartbeat.slug,
        "tags": row.tags,
        "period_seconds": heartbeat.period_seconds,
        "cron": heartbeat.cron,
        "timezone": heartbeat.timezone,
        "grace_seconds": heartbeat.grace_seconds,
        "is_active": heartbeat.is_active,
        "status": HeartbeatStatus(state.status),
        "reason": state.reason,
        "status_changed_at": state.status_changed_at,
        "last_ping_at": state.last_ping_at,
        "deadline_at": state.deadline_at,
        "running": bool(state.open_runs),
        "created_at": heartbeat.created_at,
    }


def summary(row: HeartbeatRow) -> HeartbeatSummary:
    return HeartbeatSummary(**_summary_fields(row))


def detail(row: HeartbeatRow, url: str) -> HeartbeatDetail:
    heartbeat, state = row.heartbeat, row.state
    expected = None
    if state.last_ping_at is not None and heartbeat.is_active:
        expected = schedule_of(heartbeat).next_expected(state.last_ping_at)
    return HeartbeatDetail(
        **_summary_fields(row),
        max_runtime_seconds=heartbeat.max_runtime_seconds,
        min_runtime_seconds=heartbeat.min_runtime_seconds,
        next_expected_at=expected,
        last_ping_kind=PingKind(state.last_ping_kind) if state.last_ping_kind else None,
        last_exit_code=state.last_exit_code,
        last_duration_ms=state.last_duration_ms,
        pings=state.pings,
        ping_url=url,
        updated_at=heartbeat.updated_at,
    )
