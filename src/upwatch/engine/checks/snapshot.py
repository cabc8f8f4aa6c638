"""What the engine needs to know of a monitor to check it, decrypted and typed once."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from upwatch.models import Monitor
from upwatch.monitors import service
from upwatch.monitors.policy import Thresholds
from upwatch.monitors.schemas import ExecutionMode
from upwatch.monitors.secrets import SecretStore
from upwatch.probes.base import ProbeConfig
from upwatch.probes.registry import parse_config


@dataclass(frozen=True, slots=True)
class MonitorSnapshot:
    id: int
    public_id: UUID
    organization_id: int
    name: str
    kind: str
    target: str
    host: str
    config: ProbeConfig
    interval_seconds: int
    timeout_seconds: float
    concurrency: int
    thresholds: Thresholds
    spike_threshold_percent: float
    spike_min_diff_ms: float
    spike_consecutive: int
    maintenance: bool
    active: bool
    scheduled: bool  # background and active: the scheduler runs it


def snapshot_of(monitor: Monitor, store: SecretStore) -> MonitorSnapshot:
    return MonitorSnapshot(
        id=monitor.id,
        public_id=monitor.public_id,
        organization_id=monitor.organization_id,
        name=monitor.name,
        kind=monitor.kind,
        target=monitor.target,
        host=service.host_of(monitor.kind, monitor.target),
        config=parse_config(service.full_config(store, monitor)),
        interval_seconds=monitor.interval_seconds,
        timeout_seconds=monitor.timeout_ms / 1000,
        concurrency=monitor.concurrency,
        thresholds=Thresholds(
            failure_threshold=monitor.failure_threshold,
            recovery_threshold=monitor.recovery_threshold,
            degraded_above_ms=monitor.degraded_above_ms,
        ),
        spike_threshold_percent=monitor.spike_threshold_percent,
        spike_min_diff_ms=monitor.spike_min_diff_ms,
        spike_consecutive=monitor.spike_consecutive,
        maintenance=monitor.maintenance_mode,
        active=monitor.is_active,
        scheduled=monitor.is_active and monitor.execution_mode == ExecutionMode.BACKGROUND,
    )
