"""Monitors over real HTTP on each backend: create, validate, read, change, list, pause,
delete; secrets kept encrypted and shown only by the audited `/secrets` endpoint."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.api.conftest import Serve
from tests.conftest import ApiHarness
from tests.support.accounts import Tenant

MONITORS = "/api/v1/monitors"
MASK = "********"
SECRET_HEADER = "s3cr3t-header-value"
SECRET_PASSWORD = "hunter2-password"


def body(**fields: Any) -> dict[str, Any]:
    """A valid HTTP monitor (nothing listens there: these tests never run it)."""
    return {
        "name": "Homepage",
        "kind": "http",
        "target": "http://127.0.0.1:9/",
        "interval_seconds": 10,
        "timeout_ms": 2000,
        **fields,
    }


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def create(http: httpx.Client, **fields: Any) -> dict[str, Any]:
    return ok(http.post(MONITORS, json=body(**fields)), 201)  # type: ignore[no-any-return]


def field_errors(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 400, response.text
    answer = response.json()
    assert answer["code"] == "VALIDATION_FAILED"
    return {item["path"]: item["code"] for item in answer["fields"]}


def with_secrets(**fields: Any) -> dict[str, Any]:
    return body(
        config={
            "headers": {"X-Api-Key": SECRET_HEADER},
            "basic_auth": {"username": "alice", "password": SECRET_PASSWORD},
        },
        **fields,
    )


# --- create -------------------------------------------------------------------------------


def test_a_new_monitor_has_the_defaults_and_is_pending(http: httpx.Client) -> None:
    response = http.post(
        MONITORS, json={"name": "Home", "kind": "http", "target": "https://example.com/"}
    )

    created = ok(response, 201)
    assert response.headers["Location"] == f"{MONITORS}/{created['id']}"
    assert uuid.UUID(created["id"]).version == 7
    defaults = {
        "name": "Home",
        "kind": "http",
        "target": "https://example.com/",
        "interval_seconds": 60,
        "timeout_ms": 10_000,
        "tags": [],
        "group_id": None,
        "website_id": None,
        "is_active": True,
        "execution_mode": "background",
        "maintenance_mode": False,
        "concurrency": 1,
        "failure_threshold": 2,
        "recovery_threshold": 1,
        "degraded_above_ms": None,
        "status": "pending",
        "status_changed_at": None,
        "last_check_at": None,
        "last_response_time_ms": None,
        "last_status_code": None,
        "last_error_code": None,
        "last_error": None,
        "has_secrets": False,
        "min_ms": None,
        "max_ms": None,
        "avg_ms": None,
        "last_spike": None,
        "certificate": None,
    }
    assert {name: created[name] for name in defaults} == defaults
    assert created["config"]["kind"] == "http"
    assert created["config"]["method"] == "GET"
    assert created["created_at"].endswith("Z")
    assert ok(http.get(response.headers["Location"])) == created


def test_a_monitor_is_created_with_everything_it_was_given(http: httpx.Client) -> None:
    created = create(
        http,
        name="API health",
        target="http://api.example.com/health",
        tags=["prod", "api"],
        execution_mode="on_demand",
        failure_threshold=3,
        recovery_threshold=2,
        degraded_above_ms=800,
        spike_threshold_percent=250,
        maintenance_mode=True,
        config={"method": "HEAD", "expected_status": [200, "3xx"]},
    )

    assert created["tags"] == ["api", "prod"]
    assert created["execution_mode"] == "on_demand"
    assert (created["failure_threshold"], created["recovery_threshold"]) == (3, 2)
    assert created["degraded_above_ms"] == 800
    assert created["spike_threshold_percent"] == 250
    assert created["maintenance_mode"] is True
    assert created["config"]["method"] == "HEAD"
    assert created["config"]["expected_status"] == [200, "3xx"]


def test_a_paused_new_monitor_starts_paused(http: httpx.Client) -> None:
    assert create(http, is_active=False)["status"] == "paused"


# --- validation ---------------------------------------------------------------------------

INVALID = [
    pytest.param({"interval_seconds": 5}, "interval_seconds", "too_small", id="interval-below-min"),
    pytest.param({"interval_seconds": 86401}, "interval_seconds", "too_large", id="interval-day"),
    pytest.param({"timeout_ms": 10_000}, "timeout_ms", "too_large", id="timeout-equal-interval"),
    pytest.param({"timeout_ms": 20_000}, "timeout_ms", "too_large", id="timeout-over-interval"),
    pytest.param({"target": "ftp://example.com/"}, "target", "invalid", id="http-not-a-url"),
    pytest.param({"kind": "tcp", "target": "example.com"}, "target", "invalid", id="tcp-no-port"),
    pytest.param({"kind": "tls", "target": "https://a b/"}, "target", "invalid", id="tls-bad-host"),
    pytest.param({"kind": "ping", "target": "not a host"}, "target", "invalid", id="ping-bad-host"),
    pytest.param({"kind": "nope"}, "kind", "invalid_choice", id="unknown-kind"),
    pytest.param({"colour": "red"}, "colour", "unknown_field", id="unknown-field"),
    pytest.param(
        {"config": {"verbose": True}}, "config.verbose", "unknown_field", id="config-field"
    ),
    pytest.param({"config": {"kind": "tcp"}}, "config.kind", "invalid_choice", id="config-kind"),
    pytest.param({"concurrency": 2}, "concurrency", "requires_verified_website", id="concurrency"),
]


@pytest.mark.parametrize(("change", "path", "code"), INVALID)
def test_an_invalid_monitor_is_refused_naming_the_field(
    api: ApiHarness, http: httpx.Client, change: dict[str, Any], path: str, code: str
) -> None:
    response = http.post(MONITORS, json=body(**change))

    assert field_errors(response) == {path: code}
    assert ok(http.get(MONITORS))["pagination"]["total"] == 0
    assert api.seed.scalar("SELECT count(*) FROM monitors") == 0


def test_the_minimum_interval_error_says_what_the_minimum_is(http: httpx.Client) -> None:
    response = http.post(MONITORS, json=body(interval_seconds=9, timeout_ms=1000))
    assert response.json()["fields"][0]["message"] == "must be at least 10"


def test_an_invalid_change_is_refused_naming_the_field_and_changes_nothing(
    http: httpx.Client,
) -> None:
    monitor = create(http)
    url = f"{MONITORS}/{monitor['id']}"

    assert field_errors(http.patch(url, json={"interval_seconds": 2})) == {
        "interval_seconds": "too_small"
    }
    assert field_errors(http.patch(url, json={"timeout_ms": 10_000})) == {"timeout_ms": "too_large"}
    assert field_errors(http.patch(url, json={"target": "mailto:x@example.com"})) == {
        "target": "invalid"
    }
    assert field_errors(http.patch(url, json={"concurrency": 3})) == {
        "concurrency": "requires_verified_website"
    }
    assert ok(http.get(url)) == monitor


# --- secrets ------------------------------------------------------------------------------


def test_secret_config_values_are_never_shown_by_ordinary_reads(
    api: ApiHarness, http: httpx.Client
) -> None:
    response = http.post(MONITORS, json=with_secrets())
    created = ok(response, 201)
    detail = http.get(f"{MONITORS}/{created['id']}")
    listed = http.get(MONITORS)

    for answer in (response, detail, listed):
        assert SECRET_HEADER not in answer.text
        assert SECRET_PASSWORD not in answer.text
    for shown in (created, ok(detail)):
        assert shown["has_secrets"] is True
        assert shown["config"]["headers"] == {"X-Api-Key": MASK}
        assert shown["config"]["basic_auth"] == {"username": "alice", "password": MASK}
    assert "config" not in ok(listed)["data"][0]
    stored = api.seed.rows("SELECT config, secret_config FROM monitors")
    assert len(stored) == 1
    assert SECRET_HEADER not in json.dumps(stored[0][0])
    assert SECRET_HEADER.encode() not in bytes(stored[0][1])  # type: ignore[arg-type]


def test_the_secrets_endpoint_shows_them_and_the_read_is_audited(
    http: httpx.Client, tenant: Tenant
) -> None:
    monitor = ok(http.post(MONITORS, json=with_secrets()), 201)

    secrets = ok(http.get(f"{MONITORS}/{monitor['id']}/secrets"))

    assert secrets["id"] == monitor["id"]
    assert secrets["config"]["headers"] == {"X-Api-Key": SECRET_HEADER}
    assert secrets["config"]["basic_auth"] == {"username": "alice", "password": SECRET_PASSWORD}
    log = ok(http.get("/api/v1/audit-logs", params={"action": "monitor.secrets.read"}))["data"]
    assert [(entry["resource"], entry["actor"]["user_id"]) for entry in log] == [
        ({"type": "monitor", "id": monitor["id"]}, str(tenant.owner.user_id))
    ]
    assert SECRET_HEADER not in http.get("/api/v1/audit-logs", params={"limit": 100}).text


def test_the_secrets_endpoint_needs_the_secrets_scope(
    api: ApiHarness, http: httpx.Client, tenant: Tenant
) -> None:
    monitor = ok(http.post(MONITORS, json=with_secrets()), 201)
    token = api.seed.token_for(tenant.owner, tenant.organization_id, ["monitors:read"])

    with api.client(token) as reader:
        assert ok(reader.get(f"{MONITORS}/{monitor['id']}"))["has_secrets"] is True
        response = reader.get(f"{MONITORS}/{monitor['id']}/secrets")

    assert response.status_code == 403, response.text
    assert response.json()["code"] == "TOKEN_SCOPE_INSUFFICIENT"
    assert SECRET_HEADER not in response.text


def test_sending_the_mask_back_keeps_the_stored_secret(http: httpx.Client) -> None:
    monitor = ok(http.post(MONITORS, json=with_secrets()), 201)
    url = f"{MONITORS}/{monitor['id']}"
    config = monitor["config"] | {"headers": {"X-Api-Key": MASK, "X-Other": "new-value"}}

    changed = ok(http.patch(url, json={"config": config}))

    assert changed["config"]["headers"] == {"X-Api-Key": MASK, "X-Other": MASK}
    secrets = ok(http.get(f"{url}/secrets"))["config"]
    assert secrets["headers"] == {"X-Api-Key": SECRET_HEADER, "X-Other": "new-value"}
    assert secrets["basic_auth"]["password"] == SECRET_PASSWORD


def test_a_new_secret_value_replaces_the_stored_one(http: httpx.Client) -> None:
    monitor = ok(http.post(MONITORS, json=with_secrets()), 201)
    url = f"{MONITORS}/{monitor['id']}"
    config = monitor["config"] | {"headers": {"X-Api-Key": "rotated"}, "basic_auth": None}

    ok(http.patch(url, json={"config": config}))

    secrets = ok(http.get(f"{url}/secrets"))["config"]
    assert secrets["headers"] == {"X-Api-Key": "rotated"}
    assert secrets["basic_auth"] is None


# --- partial config changes (JSON merge patch) ------------------------------------------


def test_a_config_change_without_kind_merges_into_the_stored_config_and_keeps_its_secrets(
    http: httpx.Client,
) -> None:
    """docs/monitors.md: `kind` need not be repeated; what is not sent is kept."""
    monitor = ok(http.post(MONITORS, json=with_secrets()), 201)
    url = f"{MONITORS}/{monitor['id']}"

    changed = ok(http.patch(url, json={"config": {"method": "HEAD"}}))

    assert changed["config"]["method"] == "HEAD"
    assert changed["config"]["basic_auth"] == {"username": "alice", "password": MASK}
    assert changed["config"]["headers"] == {"X-Api-Key": MASK}
    secrets = ok(http.get(f"{url}/secrets"))["config"]
    assert secrets["headers"] == {"X-Api-Key": SECRET_HEADER}
    assert secrets["basic_auth"] == {"username": "alice", "password": SECRET_PASSWORD}


def test_a_config_change_with_kind_keeps_basic_auth_it_did_not_mention(http: httpx.Client) -> None:
    monitor = ok(http.post(MONITORS, json=with_secrets()), 201)
    url = f"{MONITORS}/{monitor['id']}"

    ok(http.patch(url, json={"kind": "http", "config": {"kind": "http", "method": "HEAD"}}))

    secrets = ok(http.get(f"{url}/secrets"))["config"]
    assert secrets["method"] == "HEAD"
    assert secrets["basic_auth"] == {"username": "alice", "password": SECRET_PASSWORD}


def test_a_nested_config_change_merges_key_by_key_and_null_removes_a_key(
    http: httpx.Client,
) -> None:
    monitor = ok(http.post(MONITORS, json=with_secrets()), 201)
    url = f"{MONITORS}/{monitor['id']}"

    ok(http.patch(url, json={"config": {"headers": {"X-Other": "two"}}}))
    ok(http.patch(url, json={"config": {"basic_auth": {"username": "bob"}}}))
    ok(http.patch(url, json={"config": {"headers": {"X-Api-Key": None}}}))

    secrets = ok(http.get(f"{url}/secrets"))["config"]
    assert secrets["headers"] == {"X-Other": "two"}
    assert secrets["basic_auth"] == {"username": "bob", "password": SECRET_PASSWORD}


def test_a_config_change_that_makes_the_merged_config_invalid_names_the_field_and_changes_nothing(
    http: httpx.Client,
) -> None:
    monitor = ok(http.post(MONITORS, json=with_secrets()), 201)
    url = f"{MONITORS}/{monitor['id']}"

    assert field_errors(http.patch(url, json={"config": {"method": "BREW"}})) == {
        "config.method": "invalid_choice"
    }
    assert field_errors(http.patch(url, json={"config": {"verbose": True}})) == {
        "config.verbose": "unknown_field"
    }
    assert field_errors(http.patch(url, json={"config": {"kind": "tcp"}})) == {
        "config.kind": "invalid_choice"
    }
    unchanged = ok(http.get(url))
    assert unchanged == monitor
    assert ok(http.get(f"{url}/secrets"))["config"]["basic_auth"]["password"] == SECRET_PASSWORD


def test_a_bulk_config_change_merges_into_each_monitors_own_config(http: httpx.Client) -> None:
    first = ok(http.post(MONITORS, json=with_secrets(name="One")), 201)
    second = create(http, name="Two", config={"method": "POST"})

    ok(http.patch(f"{MONITORS}/bulk", json={
        "ids": [first["id"], second["id"]], "patch": {"config": {"max_redirects": 3}},
    }))  # fmt: skip

    one = ok(http.get(f"{MONITORS}/{first['id']}/secrets"))["config"]
    two = ok(http.get(f"{MONITORS}/{second['id']}"))["config"]
    assert (one["max_redirects"], one["basic_auth"]["password"]) == (3, SECRET_PASSWORD)
    assert (two["max_redirects"], two["method"]) == (3, "POST")


# --- read and change ----------------------------------------------------------------------


def test_a_change_touches_only_the_fields_sent(http: httpx.Client) -> None:
    monitor = create(http, tags=["a"])
    url = f"{MONITORS}/{monitor['id']}"

    changed = ok(http.patch(url, json={"name": "Renamed", "interval_seconds": 30, "tags": ["b"]}))

    assert changed["name"] == "Renamed"
    assert changed["interval_seconds"] == 30
    assert changed["tags"] == ["b"]
    unchanged = ("target", "timeout_ms", "config", "kind", "failure_threshold", "created_at")
    assert {name: changed[name] for name in unchanged} == {
        name: monitor[name] for name in unchanged
    }
    assert ok(http.get(url)) == changed


def test_an_unknown_monitor_is_not_found(http: httpx.Client) -> None:
    for method, suffix in (("GET", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "/pause")):
        response = http.request(
            method, f"{MONITORS}/{uuid.uuid4()}{suffix}", json={} if method == "PATCH" else None
        )
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "NOT_FOUND"


def test_a_read_only_token_can_read_but_not_create(
    api: ApiHarness, http: httpx.Client, tenant: Tenant
) -> None:
    create(http)
    token = api.seed.token_for(tenant.owner, tenant.organization_id, ["monitors:read"])

    with api.client(token) as reader:
        assert ok(reader.get(MONITORS))["pagination"]["total"] == 1
        response = reader.post(MONITORS, json=body(name="Not allowed"))

    assert response.status_code == 403, response.text
    assert response.json()["code"] == "TOKEN_SCOPE_INSUFFICIENT"
    assert ok(http.get(MONITORS))["pagination"]["total"] == 1


def test_creating_beyond_the_monitor_quota_is_refused(serve: Serve) -> None:
    api = serve(quota_max_monitors=1)
    tenant = api.seed.tenant()
    with api.client(tenant.owner.token) as http:
        create(http, name="First")
        response = http.post(MONITORS, json=body(name="Second"))
        listed = ok(http.get(MONITORS))

    assert response.status_code == 429, response.text
    assert response.json()["code"] == "QUOTA_EXCEEDED"
    assert [monitor["name"] for monitor in listed["data"]] == ["First"]


# --- lists --------------------------------------------------------------------------------


def names(answer: dict[str, Any]) -> list[str]:
    return [monitor["name"] for monitor in answer["data"]]


@pytest.fixture
def fleet(http: httpx.Client) -> dict[str, dict[str, Any]]:
    """Five monitors of different kinds, tags and activity."""
    made = [
        create(http, name="alpha", tags=["prod", "eu"], target="https://alpha.example.com/"),
        create(http, name="bravo", tags=["prod"], target="https://bravo.example.com/"),
        create(http, name="charlie", tags=["eu"], kind="tcp", target="db.example.com:5432"),
        create(http, name="delta", tags=["prod", "eu", "web"], is_active=False),
        create(http, name="echo", kind="dns", target="example.org"),
    ]
    return {monitor["name"]: monitor for monitor in made}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"tag": ["prod", "eu"]}, ["alpha", "delta"]),
        ({"tag": ["eu"]}, ["alpha", "charlie", "delta"]),
        ({"tag": ["prod", "nowhere"]}, []),
        ({"kind": "tcp"}, ["charlie"]),
        ({"status": "paused"}, ["delta"]),
        ({"status": "pending"}, ["alpha", "bravo", "charlie", "echo"]),
        ({"is_active": "false"}, ["delta"]),
        ({"is_active": "true", "tag": "prod"}, ["alpha", "bravo"]),
        ({"q": "BRAVO"}, ["bravo"]),
        ({"q": "db.example"}, ["charlie"]),
        ({}, ["alpha", "bravo", "charlie", "delta", "echo"]),
    ],
    ids=lambda value: json.dumps(value) if isinstance(value, dict) else None,
)
def test_list_filters_combine(
    http: httpx.Client, fleet: dict[str, Any], params: dict[str, Any], expected: list[str]
) -> None:
    answer = ok(http.get(MONITORS, params={**params, "sort": "name"}))
    assert names(answer) == expected
    assert answer["pagination"]["total"] == len(expected)


def test_the_list_is_a_projection_without_config(http: httpx.Client, fleet: dict[str, Any]) -> None:
    listed = ok(http.get(MONITORS, params={"sort": "name"}))["data"][0]
    detail = ok(http.get(f"{MONITORS}/{listed['id']}"))
    assert set(listed) < set(detail)
    assert {"config", "timeout_ms", "has_secrets"} <= set(detail) - set(listed)
    assert {name: detail[name] for name in listed} == listed


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["alpha", "bravo", "charlie", "delta", "echo"]),
        ("-name", ["echo", "delta", "charlie", "bravo", "alpha"]),
        ("created_at", ["alpha", "bravo", "charlie", "delta", "echo"]),
        ("-created_at", ["echo", "delta", "charlie", "bravo", "alpha"]),
    ],
)
def test_the_list_sorts_by_a_documented_field(
    http: httpx.Client, fleet: dict[str, Any], sort: str, expected: list[str]
) -> None:
    assert names(ok(http.get(MONITORS, params={"sort": sort}))) == expected


def test_the_list_shows_the_newest_first_by_default(
    http: httpx.Client, fleet: dict[str, Any]
) -> None:
    assert names(ok(http.get(MONITORS))) == ["echo", "delta", "charlie", "bravo", "alpha"]


def test_an_undocumented_sort_is_refused(http: httpx.Client) -> None:
    assert field_errors(http.get(MONITORS, params={"sort": "target"})) == {"sort": "invalid_choice"}


@pytest.mark.parametrize("sort", ["name", "-name", "created_at", "-created_at", "kind"])
def test_pages_cover_the_list_without_gaps_or_duplicates(
    http: httpx.Client, fleet: dict[str, Any], sort: str
) -> None:
    whole = names(ok(http.get(MONITORS, params={"sort": sort, "limit": 100})))
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(5):
        params: dict[str, Any] = {"sort": sort, "limit": 2}
        if cursor:
            params["cursor"] = cursor
        answer = ok(http.get(MONITORS, params=params))
        assert answer["pagination"]["total"] == 5
        assert answer["pagination"]["limit"] == 2
        assert len(answer["data"]) <= 2
        seen += names(answer)
        cursor = answer["pagination"]["next_cursor"]
        if cursor is None:
            break
    assert cursor is None
    assert seen == whole
    assert sorted(seen) == sorted(fleet)


@pytest.mark.parametrize("cursor", ["garbage!", "eyJub3QiOiAiYSBjdXJzb3IifQ"])
def test_a_cursor_the_api_did_not_return_is_refused(http: httpx.Client, cursor: str) -> None:
    assert field_errors(http.get(MONITORS, params={"cursor": cursor})) == {"cursor": "invalid"}


@pytest.mark.parametrize("limit", [0, 101])
def test_an_out_of_range_limit_is_refused(http: httpx.Client, limit: int) -> None:
    assert field_errors(http.get(MONITORS, params={"limit": limit})) == {
        "limit": "too_small" if limit == 0 else "too_large"
    }


def test_another_organizations_monitors_are_not_listed(
    api: ApiHarness, http: httpx.Client, fleet: dict[str, Any]
) -> None:
    other = api.seed.tenant()
    with api.client(other.owner.token) as theirs:
        answer = ok(theirs.get(MONITORS))
    assert answer == {"data": [], "pagination": {"limit": 25, "next_cursor": None, "total": 0}}


# --- pause, resume, delete ----------------------------------------------------------------


def test_pausing_shows_paused_at_once_and_resuming_shows_the_checks_state(
    http: httpx.Client,
) -> None:
    monitor = create(http)
    url = f"{MONITORS}/{monitor['id']}"

    paused = ok(http.post(f"{url}/pause"))
    assert (paused["status"], paused["is_active"], paused["next_check_at"]) == (
        "paused",
        False,
        None,
    )
    assert ok(http.post(f"{url}/pause"))["status"] == "paused"  # pausing twice is harmless
    assert ok(http.get(MONITORS, params={"status": "paused"}))["pagination"]["total"] == 1

    resumed = ok(http.post(f"{url}/resume"))
    assert (resumed["status"], resumed["is_active"]) == ("pending", True)
    log = ok(http.get("/api/v1/audit-logs", params={"resource": f"monitor:{monitor['id']}"}))
    assert [entry["action"] for entry in log["data"]] == [
        "monitor.resume",
        "monitor.pause",
        "monitor.create",
    ]


def test_maintenance_mode_and_resume_answer_the_state_after_the_change(
    http: httpx.Client,
) -> None:
    """The response of a change is the monitor as it now is, not as it was."""
    monitor = create(http, maintenance_mode=True)
    url = f"{MONITORS}/{monitor['id']}"
    assert monitor["status"] == "maintenance"

    out = ok(http.patch(url, json={"maintenance_mode": False}))
    assert out["status"] == "pending"
    into = ok(http.patch(url, json={"maintenance_mode": True}))
    assert into["status"] == "maintenance"
    assert ok(http.get(url))["status"] == "maintenance"
    ok(http.post(f"{url}/pause"))

    before = datetime.now(UTC)
    resumed = ok(http.post(f"{url}/resume"))

    assert resumed["status"] == "maintenance"
    assert resumed["next_check_at"] is not None
    next_check = datetime.fromisoformat(resumed["next_check_at"].replace("Z", "+00:00"))
    assert before - timedelta(seconds=1) <= next_check <= before + timedelta(seconds=11)


def test_renaming_a_monitor_in_a_maintenance_window_leaves_it_in_maintenance(
    http: httpx.Client,
) -> None:
    monitor = create(http, execution_mode="on_demand")
    url = f"{MONITORS}/{monitor['id']}"
    now = datetime.now(UTC).replace(microsecond=0)
    window = {
        "title": "switch swap",
        "starts_at": (now - timedelta(minutes=1)).isoformat().replace("+00:00", "Z"),
        "ends_at": (now + timedelta(hours=1)).isoformat().replace("+00:00", "Z"),
        "monitor_ids": [monitor["id"]],
    }
    ok(http.post("/api/v1/maintenance-windows", json=window), 201)
    assert ok(http.post(f"{url}/run"))["monitor"]["status"] == "maintenance"

    renamed = ok(http.patch(url, json={"name": "Renamed"}))

    assert renamed["status"] == "maintenance"


def test_a_deleted_monitor_is_gone_with_its_history(api: ApiHarness, http: httpx.Client) -> None:
    monitor = create(http, execution_mode="on_demand")
    url = f"{MONITORS}/{monitor['id']}"
    ok(http.post(f"{url}/run"))
    assert api.seed.scalar("SELECT count(*) FROM check_results") == 1

    response = http.delete(url)

    assert response.status_code == 204, response.text
    assert response.content == b""
    for gone in (http.get(url), http.get(f"{url}/checks"), http.delete(url)):
        assert gone.status_code == 404, gone.text
    assert ok(http.get(MONITORS))["pagination"]["total"] == 0
    for table in ("check_results", "check_rollups", "monitor_states", "monitors"):
        assert api.seed.scalar(f"SELECT count(*) FROM {table}") == 0, table
