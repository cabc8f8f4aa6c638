"""Liveness and readiness, on each database, and when a dependency is down."""

from __future__ import annotations

import os

import pytest

from tests.conftest import SettingsFactory
from tests.support import http
from tests.support.server import serving
from upwatch.api.app import create_app

# Nothing listens on port 1 of loopback: connections are refused at once.
UNREACHABLE_POSTGRES = "postgresql://upwatch:pw@127.0.0.1:1/upwatch"
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


def test_live_answers_ok(make_settings: SettingsFactory) -> None:
    with serving(create_app(make_settings())) as url:
        response = http.get(f"{url}/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_answers_ok_when_the_database_answers(
    make_settings: SettingsFactory, database_url: str
) -> None:
    with serving(create_app(make_settings(database_url=database_url))) as url:
        response = http.get(f"{url}/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok"}}


def test_ready_answers_503_naming_the_database_when_it_is_unreachable(
    make_settings: SettingsFactory,
) -> None:
    with serving(create_app(make_settings(database_url=UNREACHABLE_POSTGRES))) as url:
        response = http.get(f"{url}/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "SERVICE_UNAVAILABLE"
    assert "database" in body["error"]
    assert body["checks"] == {"database": "unavailable"}
    assert "pw" not in response.text


def test_ready_checks_redis_when_it_is_configured(
    make_settings: SettingsFactory, database_url: str
) -> None:
    redis_url = os.environ.get("UPWATCH_TEST_REDIS_URL")
    if not redis_url:
        pytest.skip("Redis tests need UPWATCH_TEST_REDIS_URL (.ci/run sets it)")
    settings = make_settings(database_url=database_url, redis_url=redis_url)
    with serving(create_app(settings)) as url:
        response = http.get(f"{url}/health/ready")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok"}


def test_ready_answers_503_naming_redis_when_it_is_unreachable(
    make_settings: SettingsFactory,
) -> None:
    with serving(create_app(make_settings(redis_url=UNREACHABLE_REDIS))) as url:
        response = http.get(f"{url}/health/ready")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "redis": "unavailable"}
    assert "redis" in response.json()["error"]
