"""A monitor created with only the essentials gets workable defaults."""

from __future__ import annotations

import pytest

from tests.conftest import ApiHarness


@pytest.mark.parametrize(("interval", "timeout"), [(10, 7500), (60, 10_000), (3600, 10_000)])
def test_the_default_timeout_fits_inside_the_interval(
    api: ApiHarness, interval: int, timeout: int
) -> None:
    owner = api.seed.tenant().owner
    with api.client(owner.token) as http:
        response = http.post(
            "/api/v1/monitors",
            json={
                "name": "quick",
                "kind": "http",
                "target": "http://127.0.0.1:9/",
                "interval_seconds": interval,
            },
        )
    assert response.status_code == 201, response.text
    assert response.json()["timeout_ms"] == timeout
