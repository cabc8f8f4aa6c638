"""Prometheus metrics: process metrics plus request counts and latency by route template.

Each app owns its registry, so two apps in one process (tests, several workers) never clash.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

# Unmatched paths share one label value; otherwise a scanner could mint unbounded series.
UNMATCHED_ROUTE = "<unmatched>"

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class HttpMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            self.registry.register(collector)
        self.requests = Counter(
            "upwatch_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "upwatch_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    def watch_streams(
        self, open_streams: Callable[[], int], subscribers: Callable[[], int]
    ) -> None:
        """Gauges read at scrape time: what live streams hold, so a leak would show."""
        Gauge(
            "upwatch_event_streams_open",
            "Live event streams (SSE and WebSocket) open in this process.",
            registry=self.registry,
        ).set_function(open_streams)
        Gauge(
            "upwatch_event_subscribers",
            "Subscribers of this process's event bus (one per open stream).",
            registry=self.registry,
        ).set_function(subscribers)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
