"""Every failure answers in the one error envelope, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import httpx
import pytest
from fastapi import FastAPI, Query
from pydantic import BaseModel, ConfigDict, Field

from tests.support.server import serving
from upwatch.api.app import create_app
from upwatch.core.errors import AppError, ErrorCode
from upwatch.settings import Settings

SECRET_IN_CRASH = "database password is hunter2"


class Widget(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    interval_seconds: int = Field(ge=10)
    tags: list[Annotated[str, Field(max_length=5)]] = []


def app_with_sample_routes(settings: Settings) -> FastAPI:
    """The real app plus a few routes that exercise each kind of failure."""
    app = create_app(settings)

    @app.post("/api/v1/widgets", status_code=201)
    async def create_widget(widget: Widget) -> Widget:
        return widget

    @app.get("/api/v1/widgets")
    async def list_widgets(limit: Annotated[int, Query(ge=1, le=100)] = 25) -> dict[str, int]:
        return {"limit": limit}

    @app.get("/api/v1/crash")
    async def crash() -> None:
        raise RuntimeError(SECRET_IN_CRASH)

    @app.get("/api/v1/conflict")
    async def conflict() -> None:
        raise AppError(ErrorCode.CONFLICT, "A widget with this name exists.")

    return app


@pytest.fixture
def client(sqlite_settings: Settings) -> Iterator[httpx.Client]:
    app = app_with_sample_routes(sqlite_settings.model_copy(update={"max_body_bytes": 2048}))
    with serving(app) as base_url, httpx.Client(base_url=base_url, timeout=30) as http:
        yield http


def test_an_unknown_route_answers_404_not_found_in_the_envelope(client: httpx.Client) -> None:
    response = client.get("/api/v1/nope")
    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "NOT_FOUND"
    assert "GET /api/v1/nope" in body["error"]
    assert "fields" not in body
    assert response.headers["content-type"] == "application/json"


def test_a_wrong_method_answers_405_and_lists_the_allowed_ones(client: httpx.Client) -> None:
    response = client.delete("/api/v1/widgets")
    assert response.status_code == 405
    assert response.json()["code"] == "METHOD_NOT_ALLOWED"
    assert set(response.headers["allow"].split(", ")) == {"GET", "POST"}


def test_an_invalid_body_answers_400_naming_each_field(client: httpx.Client) -> None:
    response = client.post(
        "/api/v1/widgets",
        json={"name": "", "interval_seconds": 5, "tags": ["ok", "toolong"], "colour": "red"},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "VALIDATION_FAILED"
    fields = {item["path"]: item["code"] for item in body["fields"]}
    assert fields == {
        "name": "too_short",
        "interval_seconds": "too_small",
        "tags[1]": "too_long",
        "colour": "unknown_field",
    }
    assert all(item["message"] for item in body["fields"])


def test_a_missing_field_is_reported_as_required(client: httpx.Client) -> None:
    response = client.post("/api/v1/widgets", json={"name": "a"})
    assert response.status_code == 400
    assert response.json()["fields"] == [
        {"path": "interval_seconds", "code": "required", "message": "Field required"}
    ]


def test_malformed_json_answers_400_invalid_json(client: httpx.Client) -> None:
    response = client.post(
        "/api/v1/widgets", content=b'{"name": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "INVALID_JSON"
    assert body["error"].startswith("The request body is not valid JSON")
    assert "fields" not in body  # no field to blame: the document itself is broken


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"name": "\xff"}', "The request body is not valid UTF-8."),
        (b"[" * 1_500, "The request body nests too deeply."),  # under the 2 KiB limit
    ],
    ids=["invalid utf-8", "too deep"],
)
def test_an_undecodable_body_answers_400_invalid_json_saying_why(
    client: httpx.Client, content: bytes, message: str
) -> None:
    response = client.post(
        "/api/v1/widgets", content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json() == {"error": message, "code": "INVALID_JSON"}


def test_an_invalid_query_parameter_is_named_and_never_clamped(client: httpx.Client) -> None:
    response = client.get("/api/v1/widgets", params={"limit": 1000})
    assert response.status_code == 400
    assert response.json()["fields"][0]["path"] == "limit"
    assert response.json()["fields"][0]["code"] == "too_large"


def test_a_declared_oversized_body_answers_413(client: httpx.Client) -> None:
    response = client.post(
        "/api/v1/widgets", content=b"x" * 4096, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["code"] == "PAYLOAD_TOO_LARGE"


def test_a_streamed_oversized_body_answers_413(client: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(8):
            yield b"x" * 512

    response = client.post(
        "/api/v1/widgets", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["code"] == "PAYLOAD_TOO_LARGE"


def test_a_crash_answers_500_with_the_request_id_and_no_internals(client: httpx.Client) -> None:
    response = client.get("/api/v1/crash", headers={"X-Request-ID": "trace-me-42"})
    assert response.status_code == 500
    body = response.json()
    assert body == {
        "error": "Internal server error.",
        "code": "INTERNAL",
        "request_id": "trace-me-42",
    }
    assert response.headers["x-request-id"] == "trace-me-42"
    assert SECRET_IN_CRASH not in response.text
    assert "Traceback" not in response.text


def test_a_domain_error_keeps_its_code_and_message(client: httpx.Client) -> None:
    response = client.get("/api/v1/conflict")
    assert response.status_code == 409
    assert response.json() == {"error": "A widget with this name exists.", "code": "CONFLICT"}


def test_a_valid_request_still_succeeds(client: httpx.Client) -> None:
    response = client.post("/api/v1/widgets", json={"name": "a", "interval_seconds": 60})
    assert response.status_code == 201
    assert response.json() == {"name": "a", "interval_seconds": 60, "tags": []}
