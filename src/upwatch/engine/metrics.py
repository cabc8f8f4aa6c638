"""Prometheus metrics of the engine: per-monitor state (read from the engine's memory at
scrape time, so a scrape costs no query) and check counters by kind and outcome."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from upwatch.monitors.policy import MonitorStatus

LATENESS_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10)
UP_STATUSES = {MonitorStatus.UP, MonitorStatus.DEGRADED}
# `up` is only said of a monitor whose checks decide its status: paused, maintenance and
# pending have no `up` sample (0 would read as down and page someone).
KNOWN_STATUSES = {*UP_STATUSES, MonitorStatus.DOWN}


class EngineMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.checks = Counter(
            "upwatch_checks",
            "Checks run, by monitor kind and outcome (ok or the error code).",
            ["kind", "outcome"],
            registry=registry,
        )
        self.lateness = Histogram(
            "upwatch_check_start_lateness_seconds",
            "How late scheduled checks start after their slot.",
            buckets=LATENESS_BUCKETS,
            registry=registry,
        )


class MonitorCollector(Collector):
    """`upwatch_monitor_up`, `upwatch_monitor_status` and
    `upwatch_monitor_response_time_seconds` per monitor, labelled with its organization's
    public id (`organizations`: internal id → public id, kept current by the scrape)."""

    def __init__(
        self,
        rows: Callable[[], Iterator[tuple[dict[str, Any], Any, float | None]]],
        organizations: dict[int, str],
    ) -> None:
        self._rows = rows
        self._organizations = organizations

    def collect(self) -> Iterator[GaugeMetricFamily]:
        labels = ["monitor_id", "name", "kind", "organization"]
        up = GaugeMetricFamily(
            "upwatch_monitor_up",
            "1 when the monitor is up (or degraded), 0 when down; absent while paused, in "
            "maintenance or pending.",
            labels=labels,
        )
        status_gauge = GaugeMetricFamily(
            "upwatch_monitor_status",
            "1, labelled with the monitor's status: up, degraded, down, pending, paused or "
            "maintenance.",
            labels=[*labels, "status"],
        )
        latency = GaugeMetricFamily(
            "upwatch_monitor_response_time_seconds",
            "The monitor's last response time.",
            labels=labels,
        )
        for identity, status, latency_ms in self._rows():
            organization = self._organizations.get(identity["organization_id"], "")
            values = [identity["monitor_id"], identity["name"], identity["kind"], organization]
            if status in KNOWN_STATUSES:
                up.add_metric(values, 1.0 if status in UP_STATUSES else 0.0)
            status_gauge.add_metric([*values, str(status)], 1.0)
            if latency_ms is not None:
                latency.add_metric(values, latency_ms / 1000)
        yield up
        yield status_gauge
        yield latency


class SkippedSlotsCollector(Collector):
    """`upwatch_check_slots_skipped_total`: slots an overloaded scheduler skipped (read from
    the scheduler at scrape time)."""

    def __init__(self, skipped: Callable[[], int]) -> None:
        self._skipped = skipped

    def collect(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(
            "upwatch_check_slots_skipped",
            "Scheduled checks skipped because too many were still unfinished (overload).",
            value=self._skipped(),
        )
