"""The OpenAPI document describes the API as it really answers."""

from __future__ import annotations

import json

from tests.conftest import SettingsFactory
from tests.support import http
from tests.support.server import serving
from upwatch.api.app import create_app


def test_the_openapi_document_uses_our_error_envelope_and_never_422(
    make_settings: SettingsFactory,
) -> None:
    app = create_app(make_settings())

    @app.get("/api/v1/things")
    async def things(limit: int = 25) -> dict[str, int]:
        return {"limit": limit}

    with serving(app) as url:
        response = http.get(f"{url}/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    assert document["info"]["title"] == "Upwatch"
    assert '"422"' not in json.dumps(document)
    operation = document["paths"]["/api/v1/things"]["get"]
    assert operation["responses"]["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
    assert set(document["components"]["schemas"]["Error"]["required"]) == {"error", "code"}
    assert "/health/ready" in document["paths"]
