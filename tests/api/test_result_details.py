"""The check results API shows what the probe saw (`details`), on each backend: real probes
against real loopback servers, run through the API."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.dns_server import serving_dns

MONITORS = "/api/v1/monitors"


@pytest.fixture
def dns_address() -> Iterator[str]:
    """A real DNS server for svc.test, on a loop of its own (the test thread blocks on the
    API, which queries it)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="dns", daemon=True)
    thread.start()
    serving = serving_dns({"svc.test": {"A": ["10.0.0.1"]}})
    server = asyncio.run_coroutine_threadsafe(serving.__aenter__(), loop).result(timeout=10)
    try:
        yield server.address
    finally:
        asyncio.run_coroutine_threadsafe(serving.__aexit__(None, None, None), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def test_a_dns_check_shows_its_answers_in_the_run_and_in_the_checks(
    http: httpx.Client, dns_address: str
) -> None:
    body = {
        "name": "Resolver",
        "kind": "dns",
        "target": "svc.test",
        "config": {"kind": "dns", "record_type": "A", "resolver": dns_address},
        "interval_seconds": 60,
        "timeout_ms": 2000,
        "execution_mode": "on_demand",
    }
    monitor = ok(http.post(MONITORS, json=body), 201)

    check = ok(http.post(f"{MONITORS}/{monitor['id']}/run"))["check"]
    listed = ok(http.get(f"{MONITORS}/{monitor['id']}/checks"))["data"]

    assert check["ok"], check
    assert check["details"] == {"answers": ["10.0.0.1"], "ttl": 300, "nameserver": "127.0.0.1"}
    assert check["status_code"] is None
    assert listed == [check]


def test_the_details_field_is_documented_on_check_results(http: httpx.Client) -> None:
    schema = ok(http.get("/openapi.json"))["components"]["schemas"]["CheckRead"]

    assert "details" in schema["properties"]
    assert "details" in schema["required"]
