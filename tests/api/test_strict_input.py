"""Strict input on every route, over real HTTP on each backend: text no database stores,
values of the wrong JSON type, numbers as timestamps, unknown query parameters and bodies
that are not JSON are refused with a clear error naming what is wrong (docs/api.md)."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from upwatch.api.auth import is_public
from upwatch.api.routes import api_routes

MONITORS = "/api/v1/monitors"
NUL = "a\u0000b"
WRITE_METHODS = ("post", "put", "patch")


def monitor_body(**fields: Any) -> dict[str, Any]:
    """A valid HTTP monitor (never checked: scheduled checks are off in tests)."""
    return {
        "name": "Homepage",
        "kind": "http",
        "target": "http://127.0.0.1:9/",
        "interval_seconds": 60,
        **fields,
    }


def refused_fields(response: httpx.Response, code: str = "VALIDATION_FAILED") -> dict[str, str]:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == code, body
    return {item["path"]: item["code"] for item in body.get("fields", [])}


def with_random_ids(path: str) -> str:
    while "{" in path:
        start, end = path.index("{"), path.index("}")
        path = path[:start] + str(uuid.uuid4()) + path[end + 1 :]
    return path


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    return schema


def _body_properties(document: dict[str, Any], operation: dict[str, Any]) -> list[str]:
    """The top-level fields of an operation's JSON body (every branch of a union)."""
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        return []
    schema = _resolve(document, content["schema"])
    branches = [schema, *(schema.get("anyOf", []) + schema.get("oneOf", []))]
    names: set[str] = set()
    for branch in branches:
        names |= set(_resolve(document, branch).get("properties", {}))
    return sorted(names)


# --- NUL characters (item 4) ----------------------------------------------------------------


def test_a_monitor_named_with_a_nul_character_is_refused_naming_the_name(
    http: httpx.Client,
) -> None:
    response = http.post(MONITORS, json=monitor_body(name=NUL))

    assert refused_fields(response) == {"name": "invalid_character"}
    assert http.get(MONITORS).json()["data"] == []  # nothing half-written


def test_a_nul_character_deep_in_a_body_is_named_by_its_path(http: httpx.Client) -> None:
    config = {"kind": "http", "headers": {"X-Token": NUL}}
    response = http.post(MONITORS, json=monitor_body(config=config, tags=["ok", NUL]))

    assert refused_fields(response) == {
        "config.headers.X-Token": "invalid_character",
        "tags[1]": "invalid_character",
    }


def test_an_unpaired_surrogate_is_refused_like_a_nul(http: httpx.Client) -> None:
    raw = b'{"name": "a\\ud800b", "kind": "http", "target": "http://127.0.0.1:9/"}'
    response = http.post(MONITORS, content=raw, headers={"content-type": "application/json"})

    assert refused_fields(response) == {"name": "invalid_character"}


def test_every_write_route_refuses_a_nul_character_in_each_field_naming_it(
    http: httpx.Client,
) -> None:
    document = http.get("/openapi.json").json()
    checked = 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method not in WRITE_METHODS:
                continue
            for name in _body_properties(document, operation):
                response = http.request(method, with_random_ids(path), json={name: NUL})
                assert refused_fields(response).get(name) == "invalid_character", (
                    f"{method.upper()} {path} {name}: {response.text}"
                )
                checked += 1
    assert checked > 100, "the walk found too few fields: is the OpenAPI document complete?"


def test_a_nul_character_in_a_query_or_path_parameter_is_refused_naming_it(
    http: httpx.Client,
) -> None:
    by_query = http.get(MONITORS, params={"q": NUL})
    by_path = http.get("/api/v1/audit-logs", params={"action": NUL, "resource": "monitor"})
    by_slug = http.post(f"/ping/{uuid.uuid4()}/a%00b")

    assert refused_fields(by_query) == {"q": "invalid_character"}
    assert refused_fields(by_path) == {"action": "invalid_character"}
    assert by_slug.status_code in {400, 404}, by_slug.text


# --- JSON as JSON, strictly typed (item 6) --------------------------------------------------


def test_a_number_sent_as_a_string_is_refused_naming_the_field(http: httpx.Client) -> None:
    response = http.post(MONITORS, json=monitor_body(interval_seconds="60"))

    body = response.json()
    assert refused_fields(response) == {"interval_seconds": "invalid_type"}
    assert body["fields"][0]["message"] == "Input should be an integer, not a string"


def test_booleans_and_nested_numbers_keep_their_json_type(http: httpx.Client) -> None:
    config = {"kind": "http", "follow_redirects": "yes", "max_redirects": "3"}
    response = http.post(MONITORS, json=monitor_body(is_active=1, config=config))

    assert refused_fields(response) == {
        "is_active": "invalid_type",
        "config.follow_redirects": "invalid_type",
        "config.max_redirects": "invalid_type",
    }


def test_a_body_that_is_not_json_is_refused_as_invalid_json(http: httpx.Client) -> None:
    answers = {
        "syntax": http.post(
            MONITORS, content=b'{"name": ', headers={"content-type": "application/json"}
        ),
        "utf-8": http.post(
            MONITORS, content=b'{"name": "\xff"}', headers={"content-type": "application/json"}
        ),
        "depth": http.post(
            MONITORS, content=b"[" * 100_000, headers={"content-type": "application/json"}
        ),
        "content type": http.post(
            MONITORS, content=b'{"name": "a"}', headers={"content-type": "text/plain"}
        ),
    }
    for case, response in answers.items():
        assert refused_fields(response, "INVALID_JSON") == {}, case
        assert response.json()["error"].startswith("The request body"), case


# --- timestamps are ISO 8601 strings (item 11) ----------------------------------------------


@pytest.mark.parametrize("started_at", [0, 1_700_000_000, "0", "0.5"])
def test_a_number_is_not_a_timestamp_in_a_body(http: httpx.Client, started_at: object) -> None:
    response = http.post("/api/v1/incidents", json={"title": "Slow", "started_at": started_at})

    assert refused_fields(response) == {"started_at": "invalid_type"}


def test_a_number_is_not_a_timestamp_in_a_query(http: httpx.Client) -> None:
    monitor = http.post(MONITORS, json=monitor_body()).json()

    checks = http.get(f"{MONITORS}/{monitor['id']}/checks", params={"to": "0.5"})
    audit = http.get("/api/v1/audit-logs", params={"from": "1700000000"})

    assert refused_fields(checks) == {"to": "invalid_type"}
    assert refused_fields(audit) == {"from": "invalid_type"}


# --- unknown query parameters (item 14) -----------------------------------------------------


@pytest.mark.parametrize(
    "query", ["from=2026-01-01", "start_date=2026-01-01", "created_after=x", "page=2", "types=x"]
)
def test_a_list_refuses_a_filter_it_does_not_have_naming_it(http: httpx.Client, query: str) -> None:
    http.post(MONITORS, json=monitor_body()).raise_for_status()

    response = http.get(f"{MONITORS}?{query}")

    name = query.split("=", maxsplit=1)[0]
    assert refused_fields(response) == {name: "unknown_field"}
    assert "limit" in response.json()["fields"][0]["message"]  # what the route does accept


def test_every_route_refuses_an_unknown_query_parameter(http: httpx.Client) -> None:
    checked = 0
    for route in api_routes():
        if is_public(route) and route.path.startswith(("/ping", "/api/v1/heartbeats/{")):
            continue  # pings: the documented exception (test below)
        for method in sorted(route.methods - {"HEAD"}):
            path = with_random_ids(route.path_format)
            response = http.request(method, f"{path}?not_a_parameter=1", json={})
            assert refused_fields(response) == {"not_a_parameter": "unknown_field"}, (
                f"{method} {route.path}: {response.text}"
            )
            checked += 1
    assert checked > 80


def test_a_ping_with_a_parameter_of_its_own_still_counts(http: httpx.Client) -> None:
    """Ping URLs live in crontabs, which may add parameters: refusing would lose the ping."""
    heartbeat = http.post("/api/v1/heartbeats", json={"name": "Backup"}).json()
    ping_url = http.get(f"/api/v1/heartbeats/{heartbeat['id']}/secrets").json()["ping_url"]
    ping_path = urlsplit(ping_url).path

    fast = http.get(ping_path, params={"cache_buster": "123"})
    # A repeated parameter takes the ping past the fast path, through FastAPI's routing.
    routed = http.get(ping_path, params=[("cache_buster", "1"), ("cache_buster", "2")])

    assert (fast.status_code, routed.status_code) == (200, 200), (fast.text, routed.text)
    pings = http.get(f"/api/v1/heartbeats/{heartbeat['id']}/pings").json()["data"]
    assert len(pings) == 2


# --- methods and the OpenAPI document (item 11) ---------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "OPTIONS"])
def test_a_method_a_literal_path_lacks_is_405_even_where_a_template_matches(
    http: httpx.Client, method: str
) -> None:
    """`/heartbeats/ping-key` also matches `/heartbeats/{heartbeat_id}`, which has these
    methods; but the path is the ping key's, which has only GET."""
    response = http.request(method, "/api/v1/heartbeats/ping-key")

    assert response.status_code == 405, response.text
    assert response.json()["code"] == "METHOD_NOT_ALLOWED"
    assert response.headers["allow"] == "GET"


def test_the_allow_header_lists_the_methods_the_openapi_document_lists(
    http: httpx.Client,
) -> None:
    document = http.get("/openapi.json").json()
    for path, operations in document["paths"].items():
        if not path.startswith("/api/v1"):
            continue
        response = http.request("TRACE", with_random_ids(path))
        assert response.status_code == 405, f"{path}: {response.text}"
        allowed = set(response.headers["allow"].lower().split(", "))
        assert allowed == set(operations), path


def test_a_dns_monitor_whose_name_has_too_long_a_label_is_refused_naming_the_target(
    http: httpx.Client,
) -> None:
    """Found by schemathesis: a 64-character label crashed the name check (500)."""
    response = http.post(MONITORS, json=monitor_body(kind="dns", target="a" * 64 + ".example"))

    assert refused_fields(response) == {"target": "invalid"}
