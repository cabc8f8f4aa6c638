"""Monitor rows → the API's list and detail projections."""

from __future__ import annotations

from typing import Any

from upwatch.monitors import secrets
from upwatch.monitors.policy import MonitorStatus
from upwatch.monitors.repository import MonitorRow
from upwatch.monitors.schemas import (
    Certificate,
    ExecutionMode,
    MonitorDetail,
    MonitorSummary,
    Spike,
)
from upwatch.monitors.service import secret_paths


def _summary_fields(row: MonitorRow) -> dict[str, Any]:
    monitor, state = row.monitor, row.state
    return {
        "id": monitor.public_id,
        "name": monitor.name,
        "kind": monitor.kind,
        "target": monitor.target,
        "interval_seconds": monitor.interval_seconds,
        "tags": row.tags,
        "group_id": row.group_id,
        "website_id": row.website_id,
        "is_active": monitor.is_active,
        "execution_mode": ExecutionMode(monitor.execution_mode),
        "maintenance_mode": monitor.maintenance_mode,
        "status": MonitorStatus(state.status),
        "status_changed_at": state.status_changed_at,
        "last_check_at": state.last_check_at,
        "last_response_time_ms": state.last_response_time_ms,
        "last_status_code": state.last_status_code,
        "last_error_code": state.last_error_code,
        "last_error": state.last_error,
        "created_at": monitor.created_at,
    }


def summary(row: MonitorRow) -> MonitorSummary:
    return MonitorSummary(**_summary_fields(row))


def detail(row: MonitorRow) -> MonitorDetail:
    monitor, state = row.monitor, row.state
    paths = secret_paths(monitor.kind)
    count = state.latency_count
    return MonitorDetail(
        **_summary_fields(row),
        timeout_ms=monitor.timeout_ms,
        concurrency=monitor.concurrency,
        failure_threshold=monitor.failure_threshold,
        recovery_threshold=monitor.recovery_threshold,
        degraded_above_ms=monitor.degraded_above_ms,
        spike_threshold_percent=monitor.spike_threshold_percent,
        spike_min_diff_ms=monitor.spike_min_diff_ms,
        spike_consecutive=monitor.spike_consecutive,
        config=secrets.redact(monitor.config, paths),
        has_secrets=monitor.secret_config is not None,
        next_check_at=state.next_run_at if monitor.is_active else None,
        min_ms=state.latency_min_ms,
        max_ms=state.latency_max_ms,
        avg_ms=round(state.latency_sum_ms / count, 2) if count else None,
        last_spike=Spike(**state.last_spike) if state.last_spike else None,
        certificate=Certificate(**state.last_certificate) if state.last_certificate else None,
        updated_at=monitor.updated_at,
    )
