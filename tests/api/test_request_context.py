"""Request ids and metrics on every response."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.conftest import SettingsFactory
from tests.support import http
from tests.support.server import serving
from upwatch.api.app import create_app


@pytest.fixture
def base_url(make_settings: SettingsFactory) -> Iterator[str]:
    app = create_app(make_settings(metrics_public=True))

    @app.get("/api/v1/items/{item_id}")
    async def item(item_id: int) -> dict[str, int]:
        return {"id": item_id}

    with serving(app) as url:
        yield url


def test_a_client_request_id_is_echoed(base_url: str) -> None:
    response = http.get(f"{base_url}/health/live", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"


def test_a_request_id_is_generated_when_missing(base_url: str) -> None:
    first = http.get(f"{base_url}/health/live").headers["x-request-id"]
    second = http.get(f"{base_url}/health/live").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != second


def test_a_request_id_with_unsafe_characters_is_replaced(base_url: str) -> None:
    response = http.get(f"{base_url}/health/live", headers={"X-Request-ID": "a b\tc<script>"})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


def test_error_responses_carry_the_request_id_too(base_url: str) -> None:
    response = http.get(f"{base_url}/api/v1/nope", headers={"X-Request-ID": "err-1"})
    assert response.status_code == 404
    assert response.headers["x-request-id"] == "err-1"


def test_metrics_count_requests_by_route_template_and_status(base_url: str) -> None:
    for item_id in (1, 2, 3):
        http.get(f"{base_url}/api/v1/items/{item_id}")
    http.get(f"{base_url}/api/v1/not-a-route")
    text = http.get(f"{base_url}/metrics").text
    assert (
        'upwatch_http_requests_total{method="GET",route="/api/v1/items/{item_id}",status="200"} 3.0'
        in text
    )
    assert 'route="<unmatched>",status="404"' in text
    assert "/api/v1/not-a-route" not in text
    assert "upwatch_http_request_duration_seconds_bucket" in text
    assert "process_resident_memory_bytes" in text


def test_metrics_require_the_token_when_one_is_configured(make_settings) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(metrics_token="s3cret-metrics-token")
    with serving(create_app(settings)) as url:
        refused = http.get(f"{url}/metrics")
        wrong = http.get(f"{url}/metrics", headers={"Authorization": "Bearer nope"})
        allowed = http.get(
            f"{url}/metrics", headers={"Authorization": "Bearer s3cret-metrics-token"}
        )
    assert refused.status_code == 401
    assert refused.json()["code"] == "UNAUTHENTICATED"
    assert wrong.status_code == 401
    assert allowed.status_code == 200
    assert "upwatch_http_requests_total" in allowed.text


def test_metrics_need_credentials_by_default_and_say_how_to_get_them(make_settings) -> None:  # type: ignore[no-untyped-def]
    """Monitor names and targets' health are not for anyone who can reach the port."""
    with serving(create_app(make_settings())) as url:
        refused = http.get(f"{url}/metrics")
    assert refused.status_code == 401
    assert refused.json()["code"] == "UNAUTHENTICATED"
    assert "UPWATCH_METRICS_TOKEN" in refused.json()["error"]
    assert "UPWATCH_METRICS_PUBLIC" in refused.json()["error"]
