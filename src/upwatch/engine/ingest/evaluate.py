"""The live state of each monitor, kept in memory by the engine, and what one observation
does to it: the new state, the result row, the state change and the events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from upwatch.core.clock import isoformat_z
from upwatch.engine.ingest.details import stored_details
from upwatch.engine.ingest.observation import Observation
from upwatch.events import Event
from upwatch.models import MonitorState
from upwatch.monitors import spikes
from upwatch.monitors.policy import Counters, MonitorStatus, Outcome, Thresholds, decide
from upwatch.notify.alerting import Trigger
from upwatch.notify.kinds_alert import AlertKind

REASON_LIMIT = 500
# A certificate warning fires when the days left cross one of these (and once expired).
CERTIFICATE_WARNING_DAYS = (30, 14, 7, 3, 1, 0)


class JudgedMonitor(Protocol):
    """What judging a check needs to know of its monitor (the check side's snapshot has it;
    ingest does not import the check side)."""

    @property
    def id(self) -> int: ...
    @property
    def public_id(self) -> UUID: ...
    @property
    def organization_id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def thresholds(self) -> Thresholds: ...
    @property
    def spike_threshold_percent(self) -> float: ...
    @property
    def spike_min_diff_ms(self) -> float: ...
    @property
    def spike_consecutive(self) -> int: ...
    @property
    def maintenance(self) -> bool: ...
    @property
    def active(self) -> bool: ...


@dataclass(slots=True)
class MonitorLive:
    counters: Counters
    status: MonitorStatus
    status_changed_at: datetime | None = None
    latency_count: int = 0
    latency_sum_ms: float = 0.0
    latency_min_ms: float | None = None
    latency_max_ms: float | None = None
    last_spike: dict[str, Any] | None = None
    last_certificate: dict[str, Any] | None = None  # kept when a check sees none
    last_latency_ms: float | None = None
    slow_streak: int = 0  # slow checks in a row (spikes); not kept across restarts

    @classmethod
    def from_state(cls, state: MonitorState) -> MonitorLive:
        return cls(
            counters=Counters(
                status=MonitorStatus(state.check_status),
                consecutive_failures=state.consecutive_failures,
                consecutive_successes=state.consecutive_successes,
            ),
            status=MonitorStatus(state.status),
            status_changed_at=state.status_changed_at,
            latency_count=state.latency_count,
            latency_sum_ms=state.latency_sum_ms,
            latency_min_ms=state.latency_min_ms,
            latency_max_ms=state.latency_max_ms,
            last_spike=state.last_spike,
            last_certificate=state.last_certificate,
            last_latency_ms=state.last_response_time_ms,
        )


@dataclass(frozen=True, slots=True)
class CheckRecord:
    """Everything one check writes, in one transaction, and announces after it."""

    monitor_id: int
    checked_at: datetime
    ok: bool
    latency_ms: float | None
    maintenance: bool
    result_row: dict[str, Any]
    state_values: dict[str, Any]
    state_change: dict[str, Any] | None
    events: list[Event] = field(default_factory=list)
    alerts: list[Trigger] = field(default_factory=list)  # spikes, certificate warnings


def _spike(snapshot: JudgedMonitor, live: MonitorLive, obs: Observation, at: datetime) -> bool:
    """Whether this response completes a spike (recorded in `live.last_spike`)."""
    if not obs.ok or obs.latency_ms is None:
        return False
    found = spikes.detect(
        obs.latency_ms, live.latency_sum_ms, live.latency_count,
        snapshot.spike_threshold_percent, min_diff_ms=snapshot.spike_min_diff_ms,
    )  # fmt: skip
    live.slow_streak = spikes.streak_after(live.slow_streak, found is not None)
    if found is None or not spikes.is_reported(live.slow_streak, snapshot.spike_consecutive):
        return False
    live.last_spike = {
        "datetime": isoformat_z(at),
        "response_time_ms": round(found.response_time_ms, 2),
        "baseline_avg_ms": found.baseline_avg_ms,
        "diff_percent": found.diff_percent,
    }
    return True


def _count_latency(live: MonitorLive, obs: Observation) -> None:
    if obs.ok and obs.latency_ms is not None:
        value = obs.latency_ms
        live.latency_count += 1
        live.latency_sum_ms += value
        live.latency_min_ms = (
            value if live.latency_min_ms is None else min(live.latency_min_ms, value)
        )
        live.latency_max_ms = (
            value if live.latency_max_ms is None else max(live.latency_max_ms, value)
        )


def _event(snapshot: JudgedMonitor, kind: str, at: datetime, data: dict[str, Any]) -> Event:
    return Event(
        type=kind,
        organization_id=snapshot.organization_id,
        created_at=at,
        resource_id=str(snapshot.public_id),
        data={"monitor_id": str(snapshot.public_id), "monitor_name": snapshot.name, **data},
    )


def evaluate(
    snapshot: JudgedMonitor,
    live: MonitorLive,
    obs: Observation,
    *,
    scheduled_at: datetime,
    next_run_at: datetime | None,
) -> CheckRecord:
    """Apply one observation to `live` (in place) and say what to write and announce."""
    checked_at = obs.at
    outcome = Outcome(obs.ok, obs.latency_ms, obs.error_code, obs.reason)
    decision = decide(
        live.counters,
        outcome,
        snapshot.thresholds,
        maintenance=snapshot.maintenance,
        paused=not snapshot.active,
    )
    spike = _spike(snapshot, live, obs, checked_at)
    _count_latency(live, obs)
    change = None
    previous = live.status
    if decision.status != live.status:
        change = {
            "from_status": str(live.status),
            "to_status": str(decision.status),
            "reason": decision.reason,
            "created_at": checked_at,
        }
        live.status, live.status_changed_at = decision.status, checked_at
    live.counters = decision.counters
    live.last_latency_ms = obs.latency_ms
    reason = None if obs.ok else obs.reason[:REASON_LIMIT]
    result_row = {
        "monitor_id": snapshot.id,
        "scheduled_at": scheduled_at,
        "checked_at": checked_at,
        "ok": obs.ok,
        "status": str(live.status),
        "latency_ms": obs.latency_ms,
        "status_code": obs.status_code,
        "error_code": obs.error_code,
        "reason": reason,
        "dns_ms": obs.phases.dns_ms,
        "connect_ms": obs.phases.connect_ms,
        "tls_ms": obs.phases.tls_ms,
        "ttfb_ms": obs.phases.ttfb_ms,
        "transfer_ms": obs.phases.transfer_ms,
        "requests": obs.requests,
        "failed_requests": obs.failed_requests,
        "details": stored_details(obs.details),
    }
    # Made in the order they are published: ids increase with it, which `Last-Event-ID`
    # resumes rely on.
    events = [_event(snapshot, "monitor.check_completed", checked_at, {
        "ok": obs.ok, "status": str(live.status), "latency_ms": obs.latency_ms,
        "status_code": obs.status_code, "error_code": obs.error_code, "reason": reason,
        "checked_at": isoformat_z(checked_at),
    })]  # fmt: skip
    if change is not None:
        events.append(_event(snapshot, "monitor.status_changed", checked_at, {
            "from": str(previous), "to": str(decision.status), "reason": decision.reason,
        }))  # fmt: skip
    alerts: list[Trigger] = []
    if spike:
        events.append(
            _event(snapshot, "monitor.spike_detected", checked_at, {"spike": live.last_spike})
        )
        alerts.append(_spike_alert(snapshot, live, checked_at, obs))
    warning = _certificate_warning(live, obs)
    if warning is not None:
        events.append(_event(snapshot, "certificate.expiring", checked_at, warning))
        alerts.append(
            Trigger(
                "monitor", snapshot.id, AlertKind.CERTIFICATE_EXPIRING, checked_at,
                f"the certificate of {warning['subject']} expires in {warning['days_left']} "
                f"days ({warning['not_after']})",
            )
        )  # fmt: skip
    return CheckRecord(
        monitor_id=snapshot.id,
        checked_at=checked_at,
        ok=obs.ok,
        latency_ms=obs.latency_ms,
        maintenance=snapshot.maintenance,
        result_row=result_row,
        state_values=_state_values(snapshot, live, obs, checked_at, next_run_at, reason),
        state_change=change,
        events=events,
        alerts=alerts,
    )


def _spike_alert(
    snapshot: JudgedMonitor, live: MonitorLive, at: datetime, obs: Observation
) -> Trigger:
    spike = live.last_spike or {}
    reason = (
        f"response time {spike.get('response_time_ms')} ms is {spike.get('diff_percent')}% "
        f"above the baseline of {spike.get('baseline_avg_ms')} ms"
    )
    return Trigger("monitor", snapshot.id, AlertKind.SPIKE, at, reason, latency_ms=obs.latency_ms)


def _certificate_warning(live: MonitorLive, obs: Observation) -> dict[str, Any] | None:
    """The warning to give when this check's certificate crossed a warning threshold
    (30, 14, 7, 3, 1 days left, expired) since the last certificate seen; else None."""
    if obs.certificate is None:
        return None
    now_left = obs.certificate.days_left
    before = live.last_certificate
    before_left = None if before is None else before.get("days_left")
    renewed = before is not None and before.get("not_after") != isoformat_z(
        obs.certificate.not_after
    )
    if before_left is None or renewed:
        before_left = CERTIFICATE_WARNING_DAYS[0] + 1
    crossed = any(now_left <= limit < before_left for limit in CERTIFICATE_WARNING_DAYS)
    if not crossed:
        return None
    return {
        "subject": obs.certificate.subject,
        "not_after": isoformat_z(obs.certificate.not_after),
        "days_left": now_left,
    }


def _state_values(
    snapshot: JudgedMonitor,
    live: MonitorLive,
    obs: Observation,
    checked_at: datetime,
    next_run_at: datetime | None,
    reason: str | None,
) -> dict[str, Any]:
    if obs.certificate is not None:
        live.last_certificate = {
            "subject": obs.certificate.subject,
            "issuer": obs.certificate.issuer,
            "not_after": isoformat_z(obs.certificate.not_after),
            "days_left": obs.certificate.days_left,
        }
    return {
        "monitor_id": snapshot.id,
        "status": str(live.status),
        "check_status": str(live.counters.status),
        "consecutive_failures": live.counters.consecutive_failures,
        "consecutive_successes": live.counters.consecutive_successes,
        "status_changed_at": live.status_changed_at,
        "next_run_at": next_run_at,
        "last_check_at": checked_at,
        "last_response_time_ms": obs.latency_ms,
        "last_status_code": obs.status_code,
        "last_error_code": obs.error_code,
        "last_error": reason,
        "latency_count": live.latency_count,
        "latency_sum_ms": live.latency_sum_ms,
        "latency_min_ms": live.latency_min_ms,
        "latency_max_ms": live.latency_max_ms,
        "last_spike": live.last_spike,
        "last_certificate": live.last_certificate,
    }
