"""Heartbeats over real HTTP on each backend: create, validate, read, list, change, pause,
resume, delete; ping tokens, the audited `/secrets` read and the organization's ping key."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.api.conftest import Serve
from tests.conftest import ApiHarness, SettingsFactory
from tests.support.accounts import Tenant
from upwatch.core.scopes import Role
from upwatch.settings import Settings

HEARTBEATS = "/api/v1/heartbeats"
AUDIT_LOGS = "/api/v1/audit-logs"
PUBLIC_URL = "https://upwatch.example.com"
DAY = 86400
HOUR = 3600


@pytest.fixture
def api_settings(make_settings: SettingsFactory, database_url: str) -> Settings:
    """A public URL of its own, so the ping URLs the API shows are known exactly."""
    return make_settings(database_url=database_url, public_url=f"{PUBLIC_URL}/")


@pytest.fixture
def public(api: ApiHarness) -> Iterator[httpx.Client]:
    """No credentials at all, like a cron job pinging its URL."""
    with api.client() as client:
        yield client


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def create(http: httpx.Client, **fields: Any) -> dict[str, Any]:
    return ok(http.post(HEARTBEATS, json={"name": "Nightly job", **fields}), 201)  # type: ignore[no-any-return]


def error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    answer: dict[str, Any] = response.json()
    assert answer["code"] == code
    return answer


def field_errors(response: httpx.Response) -> dict[str, str]:
    answer = error(response, 400, "VALIDATION_FAILED")
    return {item["path"]: item["code"] for item in answer["fields"]}


def token_of(ping_url: str) -> str:
    """The uuid at the end of `<public url>/ping/<uuid>`, checked to be that shape."""
    prefix = f"{PUBLIC_URL}/ping/"
    assert ping_url.startswith(prefix), ping_url
    token = ping_url.removeprefix(prefix)
    assert str(uuid.UUID(token)) == token
    assert uuid.UUID(token).version == 4
    return token


def ping(public: httpx.Client, token: str) -> httpx.Response:
    return public.get(f"/ping/{token}")


def at(timestamp: str) -> datetime:
    assert timestamp.endswith("Z"), timestamp
    return datetime.fromisoformat(timestamp)


def audit(http: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    return ok(http.get(AUDIT_LOGS, params={"limit": 100, **params}))["data"]  # type: ignore[no-any-return]


def count(api: ApiHarness, table: str) -> object:
    return api.seed.scalar(f"SELECT count(*) FROM {table}")


# --- create -------------------------------------------------------------------------------


def test_a_new_heartbeat_has_the_defaults_and_is_pending(http: httpx.Client) -> None:
    response = http.post(HEARTBEATS, json={"name": "Nightly Backup!"})

    created = ok(response, 201)
    assert response.headers["Location"] == f"{HEARTBEATS}/{created['id']}"
    defaults = {
        "name": "Nightly Backup!",
        "slug": "nightly-backup",
        "tags": [],
        "period_seconds": DAY,
        "cron": None,
        "timezone": "UTC",
        "grace_seconds": HOUR,
        "max_runtime_seconds": None,
        "min_runtime_seconds": None,
        "is_active": True,
        "status": "pending",
        "deadline_at": None,
        "last_ping_at": None,
        "next_expected_at": None,
        "running": False,
        "pings": 0,
    }
    assert {name: created[name] for name in defaults} == defaults
    token_of(created["ping_url"])
    assert ok(http.get(response.headers["Location"])) == created


def test_a_heartbeat_is_created_with_everything_it_was_given(http: httpx.Client) -> None:
    created = create(
        http,
        name="Invoices",
        slug="invoices_v2",
        tags=["prod", "billing"],
        period_seconds=3600,
        grace_seconds=300,
        min_runtime_seconds=5,
        max_runtime_seconds=600,
    )

    given = {
        "slug": "invoices_v2",
        "tags": ["billing", "prod"],
        "period_seconds": 3600,
        "grace_seconds": 300,
        "min_runtime_seconds": 5,
        "max_runtime_seconds": 600,
    }
    assert {name: created[name] for name in given} == given


def test_a_heartbeat_created_paused_starts_paused(http: httpx.Client) -> None:
    created = create(http, is_active=False)
    assert (created["status"], created["is_active"], created["deadline_at"]) == (
        "paused",
        False,
        None,
    )


def test_a_slug_made_from_the_name_that_is_taken_is_left_out_without_an_error(
    api: ApiHarness, http: httpx.Client
) -> None:
    first = create(http, name="Nightly Backup!")

    second = create(http, name="nightly backup")

    assert first["slug"] == "nightly-backup"
    assert second["slug"] is None
    assert api.seed.rows("SELECT slug FROM heartbeats ORDER BY id") == [
        ("nightly-backup",),
        (None,),
    ]


def test_an_explicit_slug_that_is_taken_is_refused_as_a_conflict(
    api: ApiHarness, http: httpx.Client
) -> None:
    create(http, name="Backup", slug="backup")

    answer = error(
        http.post(HEARTBEATS, json={"name": "Other", "slug": "backup"}), 409, "SLUG_TAKEN"
    )

    assert answer["fields"][0]["path"] == "slug"
    assert count(api, "heartbeats") == 1


def test_another_organization_may_use_the_same_slug(api: ApiHarness, http: httpx.Client) -> None:
    create(http, name="Backup", slug="backup")
    other = api.seed.tenant()
    with api.client(other.owner.token) as theirs:
        assert create(theirs, name="Backup", slug="backup")["slug"] == "backup"


def test_a_cron_heartbeat_is_stored_and_shown_without_a_period(
    api: ApiHarness, http: httpx.Client
) -> None:
    created = create(http, name="Reports", cron="0 3 * * *", timezone="Europe/Berlin")

    shown = ok(http.get(f"{HEARTBEATS}/{created['id']}"))
    for heartbeat in (created, shown):
        assert heartbeat["cron"] == "0 3 * * *"
        assert heartbeat["timezone"] == "Europe/Berlin"
        assert heartbeat["period_seconds"] is None
    assert api.seed.rows("SELECT cron, timezone, period_seconds FROM heartbeats") == [
        ("0 3 * * *", "Europe/Berlin", None)
    ]


# --- validation ---------------------------------------------------------------------------

INVALID = [
    pytest.param({"period_seconds": 59}, "period_seconds", "too_small", id="period-below-min"),
    pytest.param(
        {"period_seconds": 31 * DAY + 1}, "period_seconds", "too_large", id="period-over-max"
    ),
    pytest.param({"cron": "0 0 * *"}, "cron", None, id="cron-four-fields"),
    pytest.param({"cron": "0 0 * * * *"}, "cron", "invalid", id="cron-six-fields"),
    pytest.param({"cron": "61 0 * * *"}, "cron", "invalid", id="cron-bad-minute"),
    pytest.param({"timezone": "Mars/Olympus"}, "timezone", "invalid", id="unknown-timezone"),
    pytest.param(
        {"min_runtime_seconds": 60, "max_runtime_seconds": 60},
        "min_runtime_seconds",
        "too_large",
        id="min-runtime-equal-max",
    ),
    pytest.param(
        {"min_runtime_seconds": 120, "max_runtime_seconds": 60},
        "min_runtime_seconds",
        "too_large",
        id="min-runtime-over-max",
    ),
    pytest.param({"colour": "red"}, "colour", "unknown_field", id="unknown-field"),
    pytest.param({"slug": "Bad Slug"}, "slug", "invalid", id="slug-not-lowercase"),
    pytest.param({"grace_seconds": -1}, "grace_seconds", "too_small", id="negative-grace"),
]


@pytest.mark.parametrize(("change", "path", "code"), INVALID)
def test_an_invalid_heartbeat_is_refused_naming_the_field(
    api: ApiHarness, http: httpx.Client, change: dict[str, Any], path: str, code: str | None
) -> None:
    response = http.post(HEARTBEATS, json={"name": "Nightly job", **change})

    errors = field_errors(response)
    assert list(errors) == [path]
    if code is not None:
        assert errors[path] == code
    assert count(api, "heartbeats") == 0


def test_a_period_and_a_cron_together_are_refused(api: ApiHarness, http: httpx.Client) -> None:
    response = http.post(
        HEARTBEATS, json={"name": "Both", "period_seconds": 3600, "cron": "0 3 * * *"}
    )

    answer = error(response, 400, "VALIDATION_FAILED")
    assert len(answer["fields"]) == 1
    assert "period_seconds or cron" in answer["fields"][0]["message"]
    # docs/api.md: `path` names the field as it appears in the request (not just "body").
    assert answer["fields"][0]["path"] in {"period_seconds", "cron"}
    assert count(api, "heartbeats") == 0


def test_an_invalid_change_is_refused_naming_the_field_and_changes_nothing(
    http: httpx.Client,
) -> None:
    heartbeat = create(http, max_runtime_seconds=600)
    url = f"{HEARTBEATS}/{heartbeat['id']}"

    assert list(field_errors(http.patch(url, json={"period_seconds": 59}))) == ["period_seconds"]
    assert field_errors(http.patch(url, json={"cron": "0 0 * * * *"})) == {"cron": "invalid"}
    assert field_errors(http.patch(url, json={"timezone": "Mars/Olympus"})) == {
        "timezone": "invalid"
    }
    # Checked against the stored maximum, not only against what was sent.
    assert field_errors(http.patch(url, json={"min_runtime_seconds": 600})) == {
        "min_runtime_seconds": "too_large"
    }
    assert field_errors(http.patch(url, json={"slug": "Bad Slug"})) == {"slug": "invalid"}
    assert ok(http.get(url)) == heartbeat


# --- read and list ------------------------------------------------------------------------


def names(answer: dict[str, Any]) -> list[str]:
    return [heartbeat["name"] for heartbeat in answer["data"]]


@pytest.fixture
def fleet(http: httpx.Client) -> dict[str, dict[str, Any]]:
    """Five heartbeats with different tags, schedules, slugs and activity."""
    made = [
        create(http, name="alpha", tags=["prod", "eu"]),
        create(http, name="bravo", tags=["prod"], slug="nightly-db"),
        create(http, name="charlie", tags=["eu"], cron="*/5 * * * *"),
        create(http, name="delta", tags=["prod", "eu", "web"], is_active=False),
        create(http, name="echo"),
    ]
    return {heartbeat["name"]: heartbeat for heartbeat in made}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "paused"}, ["delta"]),
        ({"status": "pending"}, ["alpha", "bravo", "charlie", "echo"]),
        ({"status": "down"}, []),
        ({"tag": ["prod", "eu"]}, ["alpha", "delta"]),
        ({"tag": ["eu"]}, ["alpha", "charlie", "delta"]),
        ({"tag": ["prod", "nowhere"]}, []),
        ({"is_active": "false"}, ["delta"]),
        ({"is_active": "true", "tag": "prod"}, ["alpha", "bravo"]),
        ({"q": "ALPHA"}, ["alpha"]),
        ({"q": "nightly"}, ["bravo"]),
        ({"q": "a"}, ["alpha", "bravo", "charlie", "delta"]),
        ({}, ["alpha", "bravo", "charlie", "delta", "echo"]),
    ],
    ids=lambda value: json.dumps(value) if isinstance(value, dict) else None,
)
def test_list_filters_combine(
    http: httpx.Client, fleet: dict[str, Any], params: dict[str, Any], expected: list[str]
) -> None:
    answer = ok(http.get(HEARTBEATS, params={**params, "sort": "name"}))
    assert names(answer) == expected
    assert answer["pagination"]["total"] == len(expected)


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
    assert names(ok(http.get(HEARTBEATS, params={"sort": sort}))) == expected


def test_the_list_shows_the_newest_first_by_default(
    http: httpx.Client, fleet: dict[str, Any]
) -> None:
    assert names(ok(http.get(HEARTBEATS))) == ["echo", "delta", "charlie", "bravo", "alpha"]


def test_an_undocumented_sort_is_refused(http: httpx.Client) -> None:
    assert field_errors(http.get(HEARTBEATS, params={"sort": "slug"})) == {"sort": "invalid_choice"}


@pytest.mark.parametrize("sort", ["name", "-name", "created_at", "-created_at", None])
def test_pages_cover_the_list_exactly_once(
    http: httpx.Client, fleet: dict[str, Any], sort: str | None
) -> None:
    order = {} if sort is None else {"sort": sort}  # None: the default order
    whole = names(ok(http.get(HEARTBEATS, params={**order, "limit": 100})))
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {**order, "limit": 2}
        if cursor:
            params["cursor"] = cursor
        answer = ok(http.get(HEARTBEATS, params=params))
        pages += 1
        assert answer["pagination"]["total"] == 5
        assert answer["pagination"]["limit"] == 2
        assert len(answer["data"]) <= 2
        seen += names(answer)
        cursor = answer["pagination"]["next_cursor"]
        if cursor is None or pages > 5:
            break
    assert cursor is None
    assert pages == 3
    assert seen == whole
    assert sorted(seen) == sorted(fleet)


def test_pages_of_a_filtered_list_keep_the_filter(
    http: httpx.Client, fleet: dict[str, Any]
) -> None:
    first = ok(http.get(HEARTBEATS, params={"tag": "eu", "sort": "name", "limit": 2}))
    second = ok(
        http.get(
            HEARTBEATS,
            params={
                "tag": "eu",
                "sort": "name",
                "limit": 2,
                "cursor": first["pagination"]["next_cursor"],
            },
        )
    )
    assert (names(first), names(second)) == (["alpha", "charlie"], ["delta"])
    assert first["pagination"]["total"] == second["pagination"]["total"] == 3
    assert second["pagination"]["next_cursor"] is None


def test_the_detail_shows_the_ping_url_and_the_list_does_not(
    http: httpx.Client, fleet: dict[str, Any]
) -> None:
    answer = ok(http.get(HEARTBEATS, params={"sort": "name"}))

    for listed in answer["data"]:
        detail = ok(http.get(f"{HEARTBEATS}/{listed['id']}"))
        assert "ping_url" not in listed
        token_of(detail["ping_url"])
        assert set(listed) < set(detail)
        assert {name: detail[name] for name in listed} == listed
        assert token_of(detail["ping_url"]) not in json.dumps(answer)


def test_another_organizations_heartbeats_are_not_listed(
    api: ApiHarness, fleet: dict[str, Any]
) -> None:
    other = api.seed.tenant()
    with api.client(other.owner.token) as theirs:
        answer = ok(theirs.get(HEARTBEATS))
    assert answer == {"data": [], "pagination": {"limit": 25, "next_cursor": None, "total": 0}}


# --- change -------------------------------------------------------------------------------


def test_a_patch_changes_only_the_fields_sent(http: httpx.Client) -> None:
    heartbeat = create(http, tags=["a"], max_runtime_seconds=600)
    url = f"{HEARTBEATS}/{heartbeat['id']}"

    changed = ok(
        http.patch(
            url, json={"name": "Renamed", "grace_seconds": 120, "tags": ["b"], "slug": "renamed"}
        )
    )

    assert (changed["name"], changed["grace_seconds"], changed["tags"], changed["slug"]) == (
        "Renamed",
        120,
        ["b"],
        "renamed",
    )
    unchanged = ("period_seconds", "cron", "timezone", "max_runtime_seconds", "ping_url", "id")
    assert {name: changed[name] for name in unchanged} == {
        name: heartbeat[name] for name in unchanged
    }
    assert ok(http.get(url)) == changed


def test_a_put_changes_the_fields_sent_like_a_patch(http: httpx.Client) -> None:
    heartbeat = create(http, tags=["a"])
    url = f"{HEARTBEATS}/{heartbeat['id']}"

    changed = ok(http.put(url, json={"period_seconds": 600, "timezone": "Asia/Tokyo"}))

    assert (changed["period_seconds"], changed["timezone"]) == (600, "Asia/Tokyo")
    assert (changed["name"], changed["tags"]) == (heartbeat["name"], ["a"])
    assert ok(http.get(url)) == changed


def test_a_cron_replaces_the_period_and_a_period_replaces_the_cron(
    api: ApiHarness, http: httpx.Client
) -> None:
    heartbeat = create(http, period_seconds=3600)
    url = f"{HEARTBEATS}/{heartbeat['id']}"

    by_cron = ok(http.patch(url, json={"cron": "0 3 * * *", "timezone": "Europe/Berlin"}))
    assert (by_cron["cron"], by_cron["period_seconds"]) == ("0 3 * * *", None)
    assert api.seed.rows("SELECT cron, period_seconds FROM heartbeats") == [("0 3 * * *", None)]

    by_period = ok(http.patch(url, json={"period_seconds": 7200}))
    assert (by_period["cron"], by_period["period_seconds"]) == (None, 7200)
    assert by_period["timezone"] == "Europe/Berlin"
    assert api.seed.rows("SELECT cron, period_seconds FROM heartbeats") == [(None, 7200)]


def test_null_clears_the_runtimes_and_the_slug(http: httpx.Client) -> None:
    heartbeat = create(http, slug="job", min_runtime_seconds=5, max_runtime_seconds=600)
    url = f"{HEARTBEATS}/{heartbeat['id']}"

    changed = ok(http.patch(url, json={"max_runtime_seconds": None}))
    assert (changed["max_runtime_seconds"], changed["min_runtime_seconds"]) == (None, 5)

    cleared = ok(http.patch(url, json={"min_runtime_seconds": None, "slug": None}))
    assert (cleared["min_runtime_seconds"], cleared["slug"]) == (None, None)
    assert ok(http.get(url)) == cleared


def test_a_change_to_a_taken_slug_is_refused_as_a_conflict(http: httpx.Client) -> None:
    create(http, name="First", slug="first")
    second = create(http, name="Second", slug="second")
    url = f"{HEARTBEATS}/{second['id']}"

    answer = error(http.patch(url, json={"slug": "first"}), 409, "SLUG_TAKEN")

    assert answer["fields"][0]["path"] == "slug"
    assert ok(http.get(url))["slug"] == "second"
    assert ok(http.patch(url, json={"slug": "second"}))["slug"] == "second"  # its own is fine


def test_create_change_and_delete_are_audited_without_the_ping_token(
    http: httpx.Client, tenant: Tenant
) -> None:
    heartbeat = create(http, name="Audited")
    token = token_of(heartbeat["ping_url"])
    url = f"{HEARTBEATS}/{heartbeat['id']}"
    ok(http.patch(url, json={"name": "Audited again", "tags": ["x"]}))
    ok(http.delete(url), 204)

    log = audit(http, resource=f"heartbeat:{heartbeat['id']}")

    assert [entry["action"] for entry in log] == [
        "heartbeat.delete",
        "heartbeat.update",
        "heartbeat.create",
    ]
    assert {entry["actor"]["user_id"] for entry in log} == {str(tenant.owner.user_id)}
    update = log[1]["changes"]
    assert update["name"] == {"from": "Audited", "to": "Audited again"}
    assert update["tags"] == {"from": [], "to": ["x"]}
    assert log[2]["changes"]["name"] == {"from": None, "to": "Audited"}
    everything = http.get(AUDIT_LOGS, params={"limit": 100})
    as_csv = http.get(AUDIT_LOGS, params={"format": "csv"})
    assert "heartbeat.create" in as_csv.text
    for answer in (everything, as_csv):
        assert answer.status_code == 200, answer.text
        assert token not in answer.text


# --- pause and resume ---------------------------------------------------------------------


def test_pausing_stops_the_deadline_and_pausing_twice_is_harmless(http: httpx.Client) -> None:
    heartbeat = create(http, is_active=False)
    url = f"{HEARTBEATS}/{heartbeat['id']}"
    assert ok(http.post(f"{url}/resume"))["deadline_at"] is not None  # a deadline to clear

    paused = ok(http.post(f"{url}/pause"))
    again = ok(http.post(f"{url}/pause"))

    for shown in (paused, again, ok(http.get(url))):
        assert (shown["status"], shown["is_active"], shown["deadline_at"]) == (
            "paused",
            False,
            None,
        )
    assert ok(http.get(HEARTBEATS, params={"status": "paused"}))["pagination"]["total"] == 1
    actions = [entry["action"] for entry in audit(http, resource=f"heartbeat:{heartbeat['id']}")]
    assert actions.count("heartbeat.pause") == 1


def test_resuming_restarts_the_timer_from_now(http: httpx.Client) -> None:
    heartbeat = create(http, period_seconds=600, grace_seconds=120, is_active=False)
    url = f"{HEARTBEATS}/{heartbeat['id']}"

    before = datetime.now(UTC).replace(microsecond=0)
    resumed = ok(http.post(f"{url}/resume"))
    after = datetime.now(UTC) + timedelta(seconds=1)

    assert (resumed["status"], resumed["is_active"]) == ("pending", True)
    deadline = at(resumed["deadline_at"])
    assert before + timedelta(seconds=720) <= deadline <= after + timedelta(seconds=720)
    assert ok(http.get(url))["deadline_at"] == resumed["deadline_at"]
    actions = [entry["action"] for entry in audit(http, resource=f"heartbeat:{heartbeat['id']}")]
    assert actions == ["heartbeat.resume", "heartbeat.create"]


def test_resuming_with_the_default_schedule_waits_a_day_and_an_hour(http: httpx.Client) -> None:
    heartbeat = create(http)
    url = f"{HEARTBEATS}/{heartbeat['id']}"
    ok(http.post(f"{url}/pause"))

    before = datetime.now(UTC).replace(microsecond=0)
    resumed = ok(http.post(f"{url}/resume"))
    after = datetime.now(UTC) + timedelta(seconds=1)

    assert resumed["status"] == "pending"
    expected = timedelta(seconds=DAY + HOUR)
    assert before + expected <= at(resumed["deadline_at"]) <= after + expected


# --- ping tokens and secrets --------------------------------------------------------------


def test_rotating_the_token_retires_the_old_ping_url_at_once(
    http: httpx.Client, public: httpx.Client
) -> None:
    heartbeat = create(http)
    url = f"{HEARTBEATS}/{heartbeat['id']}"
    old = token_of(heartbeat["ping_url"])
    assert ping(public, old).text == "OK"  # it worked before

    rotated = ok(http.post(f"{url}/rotate-token"))

    new = rotated["ping_token"]
    assert str(uuid.UUID(new)) == new
    assert new != old
    assert rotated["ping_url"] == f"{PUBLIC_URL}/ping/{new}"
    assert ok(http.get(url))["ping_url"] == rotated["ping_url"]
    assert ok(http.get(f"{url}/secrets")) == rotated
    gone = ping(public, old)
    assert gone.status_code == 404, gone.text
    fresh = ping(public, new)
    assert (fresh.status_code, fresh.text) == (200, "OK")
    assert ok(http.get(url))["pings"] == 2
    log = audit(http, action="heartbeat.rotate_token")
    assert [entry["resource"]["id"] for entry in log] == [heartbeat["id"]]
    text = http.get(AUDIT_LOGS, params={"limit": 100}).text
    assert old not in text
    assert new not in text


def test_the_secrets_endpoint_shows_the_token_and_the_read_is_audited(
    http: httpx.Client, tenant: Tenant
) -> None:
    heartbeat = create(http)

    secrets = ok(http.get(f"{HEARTBEATS}/{heartbeat['id']}/secrets"))

    assert secrets == {
        "ping_token": token_of(heartbeat["ping_url"]),
        "ping_url": heartbeat["ping_url"],
    }
    log = audit(http, action="heartbeat.secrets.read")
    assert [(entry["resource"], entry["actor"]["user_id"]) for entry in log] == [
        ({"type": "heartbeat", "id": heartbeat["id"]}, str(tenant.owner.user_id))
    ]
    assert secrets["ping_token"] not in http.get(AUDIT_LOGS, params={"limit": 100}).text


def test_the_secrets_endpoint_needs_the_secrets_scope(
    api: ApiHarness, http: httpx.Client, tenant: Tenant
) -> None:
    heartbeat = create(http)
    token = api.seed.token_for(tenant.owner, tenant.organization_id, ["heartbeats:read"])

    with api.client(token) as reader:
        assert ok(reader.get(f"{HEARTBEATS}/{heartbeat['id']}"))["id"] == heartbeat["id"]
        response = reader.get(f"{HEARTBEATS}/{heartbeat['id']}/secrets")

    error(response, 403, "TOKEN_SCOPE_INSUFFICIENT")
    assert token_of(heartbeat["ping_url"]) not in response.text
    assert audit(http, action="heartbeat.secrets.read") == []


# --- the organization's ping key ----------------------------------------------------------


def test_the_ping_key_is_made_once_and_rotating_replaces_it(
    http: httpx.Client, public: httpx.Client
) -> None:
    create(http, name="Backup", slug="backup")

    first = ok(http.get(f"{HEARTBEATS}/ping-key"))
    again = ok(http.get(f"{HEARTBEATS}/ping-key"))
    assert set(first) == {"ping_key", "created_at"}
    assert first["ping_key"]
    at(first["created_at"])
    assert again == first
    assert public.get(f"/ping/{first['ping_key']}/backup").text == "OK"

    rotated = ok(http.post(f"{HEARTBEATS}/ping-key/rotate"))

    assert rotated["ping_key"] != first["ping_key"]
    assert ok(http.get(f"{HEARTBEATS}/ping-key")) == rotated
    assert public.get(f"/ping/{first['ping_key']}/backup").status_code == 404
    assert public.get(f"/ping/{rotated['ping_key']}/backup").text == "OK"
    actions = [entry["action"] for entry in audit(http, resource="ping_key")]
    assert actions == ["ping_key.rotate", "ping_key.create"]
    log = http.get(AUDIT_LOGS, params={"limit": 100}).text
    assert first["ping_key"] not in log
    assert rotated["ping_key"] not in log


def test_a_viewer_can_neither_read_nor_rotate_the_ping_key(
    api: ApiHarness, http: httpx.Client, tenant: Tenant
) -> None:
    key = ok(http.get(f"{HEARTBEATS}/ping-key"))
    viewer = api.seed.person(tenant.organization_id, Role.VIEWER)

    with api.client(viewer.token) as theirs:
        read = theirs.get(f"{HEARTBEATS}/ping-key")
        rotate = theirs.post(f"{HEARTBEATS}/ping-key/rotate")

    for response in (read, rotate):
        error(response, 403, "FORBIDDEN")
        assert key["ping_key"] not in response.text
    assert ok(http.get(f"{HEARTBEATS}/ping-key")) == key


# --- tenancy, scopes, roles and quota -----------------------------------------------------

ROUTES = [
    pytest.param("GET", "", id="read"),
    pytest.param("PATCH", "", id="patch"),
    pytest.param("PUT", "", id="put"),
    pytest.param("DELETE", "", id="delete"),
    pytest.param("POST", "/pause", id="pause"),
    pytest.param("POST", "/resume", id="resume"),
    pytest.param("POST", "/rotate-token", id="rotate-token"),
    pytest.param("GET", "/secrets", id="secrets"),
]


@pytest.mark.parametrize(("method", "suffix"), ROUTES)
def test_another_organizations_heartbeat_is_not_found_like_a_missing_one(
    api: ApiHarness, http: httpx.Client, method: str, suffix: str
) -> None:
    heartbeat = create(http, name="Private job", is_active=False)
    other = api.seed.tenant()
    body = {"name": "Taken over"} if method in {"PATCH", "PUT"} else None

    with api.client(other.owner.token) as theirs:
        foreign = theirs.request(method, f"{HEARTBEATS}/{heartbeat['id']}{suffix}", json=body)
        missing = theirs.request(method, f"{HEARTBEATS}/{uuid.uuid4()}{suffix}", json=body)

    error(foreign, 404, "NOT_FOUND")
    assert foreign.json() == missing.json()
    assert "Private job" not in foreign.text
    assert token_of(heartbeat["ping_url"]) not in foreign.text
    assert ok(http.get(f"{HEARTBEATS}/{heartbeat['id']}")) == heartbeat


def test_a_viewer_can_read_heartbeats_but_not_change_them(
    api: ApiHarness, http: httpx.Client, tenant: Tenant
) -> None:
    heartbeat = create(http)
    url = f"{HEARTBEATS}/{heartbeat['id']}"
    viewer = api.seed.person(tenant.organization_id, Role.VIEWER)

    with api.client(viewer.token) as theirs:
        assert ok(theirs.get(HEARTBEATS))["pagination"]["total"] == 1
        assert ok(theirs.get(url))["id"] == heartbeat["id"]
        refused = [
            theirs.post(HEARTBEATS, json={"name": "Not allowed"}),
            theirs.patch(url, json={"name": "Not allowed"}),
            theirs.post(f"{url}/pause"),
            theirs.delete(url),
        ]

    for response in refused:
        error(response, 403, "FORBIDDEN")
    assert ok(http.get(HEARTBEATS))["pagination"]["total"] == 1
    assert ok(http.get(url)) == heartbeat


def test_a_read_only_token_can_read_but_not_create(
    api: ApiHarness, http: httpx.Client, tenant: Tenant
) -> None:
    create(http)
    token = api.seed.token_for(tenant.owner, tenant.organization_id, ["heartbeats:read"])

    with api.client(token) as reader:
        assert ok(reader.get(HEARTBEATS))["pagination"]["total"] == 1
        response = reader.post(HEARTBEATS, json={"name": "Not allowed"})

    error(response, 403, "TOKEN_SCOPE_INSUFFICIENT")
    assert ok(http.get(HEARTBEATS))["pagination"]["total"] == 1


def test_creating_beyond_the_heartbeat_quota_is_refused(serve: Serve) -> None:
    api = serve(quota_max_heartbeats=2)
    tenant = api.seed.tenant()
    with api.client(tenant.owner.token) as http:
        create(http, name="First")
        create(http, name="Second")
        response = http.post(HEARTBEATS, json={"name": "Third"})
        listed = ok(http.get(HEARTBEATS, params={"sort": "name"}))

    error(response, 429, "QUOTA_EXCEEDED")
    assert names(listed) == ["First", "Second"]
    assert count(api, "heartbeats") == 2


# --- delete and retries -------------------------------------------------------------------


def test_a_deleted_heartbeat_is_gone_with_its_state_tags_and_pings(
    api: ApiHarness, http: httpx.Client, public: httpx.Client
) -> None:
    heartbeat = create(http, tags=["prod", "eu"])
    kept = create(http, name="Kept", tags=["prod"])
    url = f"{HEARTBEATS}/{heartbeat['id']}"
    token = token_of(heartbeat["ping_url"])
    assert ping(public, token).text == "OK"
    assert (count(api, "heartbeat_states"), count(api, "heartbeat_tags")) == (2, 3)
    assert count(api, "heartbeat_pings") == 1

    response = http.delete(url)

    assert response.status_code == 204, response.text
    assert response.content == b""
    for gone in (http.get(url), http.delete(url), ping(public, token)):
        assert gone.status_code == 404, gone.text
    assert [item["id"] for item in ok(http.get(HEARTBEATS))["data"]] == [kept["id"]]
    assert count(api, "heartbeats") == 1
    assert count(api, "heartbeat_states") == 1
    assert api.seed.rows("SELECT tag FROM heartbeat_tags") == [("prod",)]
    assert count(api, "heartbeat_pings") == 0


def test_a_retried_create_with_the_same_idempotency_key_is_replayed(
    api: ApiHarness, http: httpx.Client
) -> None:
    headers = {"Idempotency-Key": f"key-{uuid.uuid4()}"}

    first = http.post(HEARTBEATS, json={"name": "Once"}, headers=headers)
    retry = http.post(HEARTBEATS, json={"name": "Once"}, headers=headers)

    assert first.status_code == retry.status_code == 201, (first.text, retry.text)
    assert "Idempotent-Replayed" not in first.headers
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json()["id"] == first.json()["id"]
    assert retry.headers["Location"] == first.headers["Location"]
    assert count(api, "heartbeats") == 1
