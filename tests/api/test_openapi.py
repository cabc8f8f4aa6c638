"""The OpenAPI document describes the API as it really answers."""

from __future__ import annotations

import json
import re
from typing import Any

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


def _document(make_settings: SettingsFactory) -> dict[str, Any]:
    with serving(create_app(make_settings())) as url:
        response = http.get(f"{url}/openapi.json")
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def test_every_operation_documents_the_errors_it_can_answer(
    make_settings: SettingsFactory,
) -> None:
    document = _document(make_settings)
    error = {"$ref": "#/components/schemas/Error"}
    missing = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            expected = {"400", "429", "503"}
            if operation.get("x-required-scope", "public") != "public":
                expected |= {"401", "403"}
            if "{" in path:
                expected.add("404")
            if method in {"post", "put", "patch", "delete"}:
                expected |= {"409", "413"}
            responses = operation["responses"]
            missing += [f"{method.upper()} {path} {status}" for status in expected - set(responses)]
            for status in expected & set(responses):
                assert responses[status]["content"]["application/json"]["schema"] == error
    assert missing == []


def test_one_url_is_one_path_of_the_openapi_document(make_settings: SettingsFactory) -> None:
    """`/heartbeats/{heartbeat_id}` and `/heartbeats/{token}` (the ping by token) are one URL:
    OpenAPI forbids listing it twice, so its methods are listed together."""
    paths = _document(make_settings)["paths"]
    shapes = [re.sub(r"\{[^}]+\}", "{}", path) for path in paths]

    assert len(shapes) == len(set(shapes))
    merged = paths["/api/v1/heartbeats/{heartbeat_id}"]
    assert {"get", "put", "patch", "delete", "post", "head"} <= set(merged)
    assert [p["name"] for p in merged["post"]["parameters"] if p["in"] == "path"] == [
        "heartbeat_id"
    ]
