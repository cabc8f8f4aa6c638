"""The API while its PostgreSQL is stopped: 503 `SERVICE_UNAVAILABLE` with `Retry-After` for
every request that needs the database, and the service as before once it is back."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import SettingsFactory
from tests.support.accounts import Seeder, Tenant
from tests.support.alerting import MONITORS, eventually, ok
from tests.support.private_postgres import PrivatePostgres
from tests.support.server import serving
from upwatch.api.app import create_app


@pytest.fixture
def owner(
    private_postgres: PrivatePostgres, make_settings: SettingsFactory
) -> Iterator[tuple[httpx.Client, Tenant]]:
    settings = make_settings(database_url=private_postgres.migrated())
    with serving(create_app(settings)) as base_url:
        tenant = Seeder(settings.effective_database_url).tenant()
        headers = {"Authorization": f"Bearer {tenant.owner.token}"}
        with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
            yield client, tenant


def _unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "SERVICE_UNAVAILABLE"
    assert int(response.headers["retry-after"]) > 0
    assert response.headers["x-request-id"]


def test_api_requests_during_a_database_outage_answer_503_with_retry_after(
    private_postgres: PrivatePostgres, owner: tuple[httpx.Client, Tenant]
) -> None:
    client, _ = owner
    ok(client.get(MONITORS))  # a pooled connection exists: the outage cuts it
    private_postgres.stop()
    try:
        _unavailable(client.get(MONITORS))
        _unavailable(client.post(MONITORS, json={"name": "x", "kind": "http",
                                                 "target": "http://127.0.0.1:9/"}))  # fmt: skip
        _unavailable(client.get("/api/v1/me"))
        ready = client.get("/health/ready")
        _unavailable(ready)
        assert ready.json()["checks"] == {"database": "unavailable"}
    finally:
        private_postgres.start()
    eventually(lambda: client.get(MONITORS).status_code == 200, "the API serving again")
