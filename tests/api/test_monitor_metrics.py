"""Prometheus metrics of monitors over real HTTP on each backend: after real checks of a
real server (and of a port where nothing listens), `/metrics` shows each monitor's state
and last response time, and counts checks by kind and outcome.

The exposition is read with prometheus_client's own parser, so label order and escaping
are the format's business, not the test's.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ApiHarness, SettingsFactory
from tests.support.accounts import Tenant
from upwatch.settings import Settings

MONITORS = "/api/v1/monitors"
START_SECONDS = 10.0


@contextmanager
def serving_target() -> Iterator[str]:
    """A real aiohttp server on 127.0.0.1 in a thread of its own; every path answers 200."""

    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="hello upwatch")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", ok)
    runner = web.AppRunner(app, access_log=None)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="http-target", daemon=True)
    thread.start()

    def call(coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(START_SECONDS)

    async def start() -> int:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        return int(runner.addresses[0][1])

    try:
        yield f"http://127.0.0.1:{call(start())}"
    finally:
        call(runner.cleanup())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(START_SECONDS)
        loop.close()


@pytest.fixture
def target() -> Iterator[str]:
    with serving_target() as base_url:
        yield base_url


@pytest.fixture
def refused() -> Iterator[str]:
    """A URL whose port is bound but not listening: connecting is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as bound:
        bound.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{bound.getsockname()[1]}/"


METRICS_TOKEN = "scrape-token-for-tests"


@pytest.fixture
def api_settings(make_settings: SettingsFactory, database_url: str) -> Settings:
    """/metrics needs credentials by default: the operator's scrape token."""
    return make_settings(database_url=database_url, metrics_token=METRICS_TOKEN)


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def create_monitor(http: httpx.Client, url: str, name: str, **fields: Any) -> dict[str, Any]:
    body = {
        "name": name,
        "kind": "http",
        "target": url,
        "execution_mode": "on_demand",
        "interval_seconds": 60,
        "timeout_ms": 5000,
        **fields,
    }
    return ok(http.post(MONITORS, json=body), 201)  # type: ignore[no-any-return]


def run(http: httpx.Client, monitor: dict[str, Any]) -> dict[str, Any]:
    return ok(http.post(f"{MONITORS}/{monitor['id']}/run"))  # type: ignore[no-any-return]


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(api: ApiHarness) -> Samples:
    """Every sample of /metrics, by (name, labels)."""
    with api.client(METRICS_TOKEN) as client:
        response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def of_monitor(
    samples: Samples, name: str, monitor_id: str
) -> dict[frozenset[tuple[str, str]], float]:
    return {
        labels: value
        for (sample, labels), value in samples.items()
        if sample == name and ("monitor_id", monitor_id) in labels
    }


def labels(**values: str) -> frozenset[tuple[str, str]]:
    return frozenset(values.items())


def identity_of(tenant: Tenant, monitor: dict[str, Any], name: str) -> frozenset[tuple[str, str]]:
    return labels(
        monitor_id=monitor["id"], name=name, kind="http", organization=str(tenant.organization_id)
    )


def test_a_successful_check_shows_the_monitor_up_with_its_response_time(
    api: ApiHarness, http: httpx.Client, tenant: Tenant, target: str
) -> None:
    monitor = create_monitor(http, f"{target}/health", "Homepage")

    check = run(http, monitor)["check"]
    samples = scrape(api)

    identity = identity_of(tenant, monitor, "Homepage")
    assert of_monitor(samples, "upwatch_monitor_up", monitor["id"]) == {identity: 1.0}
    assert of_monitor(samples, "upwatch_monitor_response_time_seconds", monitor["id"]) == {
        identity: pytest.approx(check["latency_ms"] / 1000)
    }
    assert samples[("upwatch_checks_total", labels(kind="http", outcome="ok"))] == 1.0


def test_checks_are_counted_by_kind_and_outcome(
    api: ApiHarness, http: httpx.Client, target: str, refused: str
) -> None:
    up = create_monitor(http, target, "Up")
    down = create_monitor(http, refused, "Refused", failure_threshold=1)

    run(http, up)
    run(http, up)
    failed = run(http, down)["check"]
    samples = scrape(api)

    assert failed["error_code"] == "CONNECTION_REFUSED"
    assert samples[("upwatch_checks_total", labels(kind="http", outcome="ok"))] == 2.0
    assert (
        samples[("upwatch_checks_total", labels(kind="http", outcome="CONNECTION_REFUSED"))] == 1.0
    )
    # Nothing was skipped: the engine was far from overloaded.
    assert samples[("upwatch_check_slots_skipped_total", frozenset())] == 0.0


def test_a_monitor_that_went_down_shows_zero(
    api: ApiHarness, http: httpx.Client, tenant: Tenant, refused: str
) -> None:
    monitor = create_monitor(http, refused, "Refused", failure_threshold=1)

    assert run(http, monitor)["monitor"]["status"] == "down"
    samples = scrape(api)

    identity = identity_of(tenant, monitor, "Refused")
    assert of_monitor(samples, "upwatch_monitor_up", monitor["id"]) == {identity: 0.0}


def test_a_monitor_recovers_to_one_after_a_success(
    api: ApiHarness, http: httpx.Client, target: str, refused: str
) -> None:
    monitor = create_monitor(http, refused, "Flaky", failure_threshold=1)
    run(http, monitor)
    ok(http.patch(f"{MONITORS}/{monitor['id']}", json={"target": target}))

    run(http, monitor)
    samples = scrape(api)

    assert list(of_monitor(samples, "upwatch_monitor_up", monitor["id"]).values()) == [1.0]


def test_a_monitor_name_with_quotes_and_backslashes_is_escaped_in_its_label(
    api: ApiHarness, http: httpx.Client, tenant: Tenant, target: str
) -> None:
    name = 'The "main" site \\ API\nv2'
    monitor = create_monitor(http, target, name)

    run(http, monitor)
    samples = scrape(api)

    assert of_monitor(samples, "upwatch_monitor_up", monitor["id"]) == {
        identity_of(tenant, monitor, name): 1.0
    }


def test_a_renamed_monitor_is_shown_under_its_new_name(
    api: ApiHarness, http: httpx.Client, tenant: Tenant, target: str
) -> None:
    monitor = create_monitor(http, target, "Old name")
    run(http, monitor)

    ok(http.patch(f"{MONITORS}/{monitor['id']}", json={"name": "New name"}))
    samples = scrape(api)

    assert of_monitor(samples, "upwatch_monitor_up", monitor["id"]) == {
        identity_of(tenant, monitor, "New name"): 1.0
    }


def test_a_deleted_monitor_leaves_the_metrics(
    api: ApiHarness, http: httpx.Client, target: str
) -> None:
    kept = create_monitor(http, target, "Kept")
    gone = create_monitor(http, target, "Gone")
    run(http, kept)
    run(http, gone)

    response = http.delete(f"{MONITORS}/{gone['id']}")
    assert response.status_code == 204, response.text
    samples = scrape(api)

    assert of_monitor(samples, "upwatch_monitor_up", gone["id"]) == {}
    assert of_monitor(samples, "upwatch_monitor_response_time_seconds", gone["id"]) == {}
    assert list(of_monitor(samples, "upwatch_monitor_up", kept["id"]).values()) == [1.0]


def test_a_paused_monitor_has_no_up_sample_and_its_status_says_paused(
    api: ApiHarness, http: httpx.Client, tenant: Tenant, refused: str, target: str
) -> None:
    """Paused is not down: `up` would read 0 and page someone. The status gauge tells them
    apart (one sample per monitor, its current status)."""
    paused = create_monitor(http, target, "Paused")
    down = create_monitor(http, refused, "Down", failure_threshold=1)
    run(http, paused)
    run(http, down)
    ok(http.post(f"{MONITORS}/{paused['id']}/pause"))

    samples = scrape(api)

    assert of_monitor(samples, "upwatch_monitor_up", paused["id"]) == {}
    assert of_monitor(samples, "upwatch_monitor_status", paused["id"]) == {
        identity_of(tenant, paused, "Paused") | {("status", "paused")}: 1.0
    }
    assert of_monitor(samples, "upwatch_monitor_up", down["id"]) == {
        identity_of(tenant, down, "Down"): 0.0
    }
    assert of_monitor(samples, "upwatch_monitor_status", down["id"]) == {
        identity_of(tenant, down, "Down") | {("status", "down")}: 1.0
    }
