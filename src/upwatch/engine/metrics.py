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
    """`upwatch_monitor_up` and `upwatch_monitor_response_time_seconds` per monitor."""

    def __init__(self, rows: Callable[[], Iterator[tuple[dict[str, str], Any, float | None]]]):
        self._rows = rows

    def collect(self) -> Iterator[GaugeMetricFamily]:
        labels = ["monitor_id", "name", "kind"]
        up = GaugeMetricFamily(
            "upwatch_monitor_up", "1 when the monitor is up (or degraded), else 0.", labels=labels
        )
        latency = GaugeMetricFamily(
            "upwatch_monitor_response_time_seconds",
            "The monitor's last response time.",
            labels=labels,
        )
        for identity, status, latency_ms in self._rows():
            values = [identity["monitor_id"], identity["name"], identity["kind"]]
            up.add_metric(values, 1.0 if status in UP_STATUSES else 0.0)
            if latency_ms is not None:
                latency.add_metric(values, latency_ms / 1000)
        yield up
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
