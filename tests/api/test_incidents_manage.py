"""Incidents people manage, over real HTTP on each backend: declare, validate, acknowledge,
post updates, resolve, write the post-mortem; the CSV export, the audit log, the events,
roles and scopes, and a heartbeat's automatic incident handled by hand."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import ApiHarness
from tests.support.accounts import Tenant
from tests.support.sse import event_stream
from upwatch.core.scopes import Role

INCIDENTS = "/api/v1/incidents"
HEARTBEATS = "/api/v1/heartbeats"
AUDIT_LOGS = "/api/v1/audit-logs"
EVENTS = "/api/v1/events"
CSV_HEADER = (
    "id,title,impact,state,monitor_id,heartbeat_id,cause,auto_created,auto_resolved,"
    "started_at,acknowledged_at,acknowledged_by,resolved_at,resolved_by,duration_seconds"
)
STARTED = "2026-01-02T03:04:05.678Z"


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    answer: dict[str, Any] = response.json()
    assert answer["code"] == code, answer
    return answer


def field_errors(response: httpx.Response) -> dict[str, str]:
    answer = error(response, 400, "VALIDATION_FAILED")
    return {item["path"]: item["code"] for item in answer["fields"]}


def declare(http: httpx.Client, **fields: Any) -> dict[str, Any]:
    return ok(http.post(INCIDENTS, json={"title": "Checkout is slow", **fields}), 201)  # type: ignore[no-any-return]


def incident(http: httpx.Client, incident_id: str) -> dict[str, Any]:
    return ok(http.get(f"{INCIDENTS}/{incident_id}"))  # type: ignore[no-any-return]


def incidents(http: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    return ok(http.get(INCIDENTS, params={"limit": 100, **params}))["data"]  # type: ignore[no-any-return]


def audit(http: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    return ok(http.get(AUDIT_LOGS, params={"limit": 100, **params}))["data"]  # type: ignore[no-any-return]


def at(timestamp: str) -> datetime:
    assert timestamp.endswith("Z"), timestamp
    return datetime.fromisoformat(timestamp)


def to_millisecond(moment: datetime) -> datetime:
    """The API shows milliseconds, cut (not rounded) from the stored time."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def kinds(detail: dict[str, Any]) -> list[str]:
    return [entry["kind"] for entry in detail["timeline"]]


def summary_of(detail: dict[str, Any]) -> dict[str, Any]:
    """The list's fields of an incident: the detail without what only the detail shows."""
    return {
        name: value
        for name, value in detail.items()
        if name not in {"postmortem", "timeline", "created_at", "updated_at"}
    }


# --- declare ------------------------------------------------------------------------------


def test_a_declared_incident_has_the_defaults_and_starts_now(
    http: httpx.Client, tenant: Tenant
) -> None:
    before = to_millisecond(datetime.now(UTC))
    response = http.post(INCIDENTS, json={"title": "Checkout is slow", "message": "Looking."})
    after = datetime.now(UTC)

    created = ok(response, 201)
    assert response.headers["Location"] == f"{INCIDENTS}/{created['id']}"
    assert uuid.UUID(created["id"])
    defaults = {
        "title": "Checkout is slow",
        "impact": "minor",
        "state": "investigating",
        "monitor_id": None,
        "heartbeat_id": None,
        "cause": None,
        "auto_created": False,
        "auto_resolved": False,
        "acknowledged_at": None,
        "acknowledged_by": None,
        "resolved_at": None,
        "resolved_by": None,
        "duration_seconds": None,
        "postmortem": None,
    }
    assert {name: created[name] for name in defaults} == defaults
    assert before <= at(created["started_at"]) <= after
    [opened] = created["timeline"]
    assert (opened["kind"], opened["state"], opened["body"]) == (
        "opened",
        "investigating",
        "Looking.",
    )
    assert (opened["public"], opened["author"]) == (True, tenant.owner.email)
    assert ok(http.get(response.headers["Location"])) == created
    assert incidents(http) == [summary_of(created)]


def test_a_declared_incident_keeps_what_it_was_given(http: httpx.Client) -> None:
    created = declare(
        http,
        title="Planned database upgrade",
        impact="critical",
        state="monitoring",
        message="Internal only.",
        public=False,
        started_at=STARTED,
    )

    assert (created["impact"], created["state"], created["started_at"]) == (
        "critical",
        "monitoring",
        STARTED,
    )
    [opened] = created["timeline"]
    assert (opened["body"], opened["public"], opened["state"]) == (
        "Internal only.",
        False,
        "monitoring",
    )
    assert incident(http, created["id"]) == created


def test_a_declared_incident_without_a_message_opens_with_a_short_note(http: httpx.Client) -> None:
    created = declare(http)

    [opened] = created["timeline"]
    assert opened["kind"] == "opened"
    assert opened["body"]


@pytest.mark.parametrize(
    ("fields", "path", "code"),
    [
        pytest.param({"title": ""}, "title", "too_short", id="empty-title"),
        pytest.param({"title": "   "}, "title", "too_short", id="blank-title"),
        pytest.param({"impact": "huge"}, "impact", "invalid_choice", id="impact"),
        pytest.param({"state": "resolved"}, "state", "invalid_choice", id="state-resolved"),
        pytest.param({"severity": "high"}, "severity", "unknown_field", id="unknown-field"),
    ],
)
def test_declaring_with_an_invalid_field_is_refused_naming_it(
    http: httpx.Client, fields: dict[str, Any], path: str, code: str
) -> None:
    response = http.post(INCIDENTS, json={"title": "Checkout is slow", **fields})

    assert field_errors(response) == {path: code}
    assert incidents(http) == []


def test_declaring_without_a_title_is_refused_naming_it(http: httpx.Client) -> None:
    assert field_errors(http.post(INCIDENTS, json={"impact": "major"})) == {"title": "required"}
    assert incidents(http) == []


# --- change -------------------------------------------------------------------------------


def test_an_open_incident_can_be_renamed_and_moved_to_another_open_state(
    http: httpx.Client,
) -> None:
    created = declare(http)

    changed = ok(
        http.patch(
            f"{INCIDENTS}/{created['id']}",
            json={"title": "Checkout is down", "impact": "major", "state": "identified"},
        )
    )

    assert (changed["title"], changed["impact"], changed["state"]) == (
        "Checkout is down",
        "major",
        "identified",
    )
    assert changed["started_at"] == created["started_at"]
    assert at(changed["updated_at"]) >= at(created["updated_at"])
    assert incident(http, created["id"]) == changed


@pytest.mark.parametrize(
    ("fields", "path", "code"),
    [
        pytest.param({"title": ""}, "title", "too_short", id="empty-title"),
        pytest.param({"impact": "huge"}, "impact", "invalid_choice", id="impact"),
        pytest.param({"state": "resolved"}, "state", "invalid_choice", id="state-resolved"),
        pytest.param({"owner": "me"}, "owner", "unknown_field", id="unknown-field"),
    ],
)
def test_changing_with_an_invalid_field_is_refused_naming_it(
    http: httpx.Client, fields: dict[str, Any], path: str, code: str
) -> None:
    created = declare(http)

    response = http.patch(f"{INCIDENTS}/{created['id']}", json=fields)

    assert field_errors(response) == {path: code}
    assert incident(http, created["id"]) == created


@pytest.mark.parametrize(
    ("fields", "path", "code"),
    [
        pytest.param({"body": ""}, "body", "too_short", id="empty-body"),
        pytest.param({}, "body", "required", id="no-body"),
        pytest.param({"body": "x", "state": "resolved"}, "state", "invalid_choice", id="state"),
        pytest.param({"body": "x", "pinned": True}, "pinned", "unknown_field", id="unknown"),
    ],
)
def test_posting_an_invalid_update_is_refused_naming_the_field(
    http: httpx.Client, fields: dict[str, Any], path: str, code: str
) -> None:
    created = declare(http)

    response = http.post(f"{INCIDENTS}/{created['id']}/updates", json=fields)

    assert field_errors(response) == {path: code}
    assert incident(http, created["id"]) == created


# --- acknowledge --------------------------------------------------------------------------


def test_acknowledging_twice_changes_nothing_the_second_time(
    http: httpx.Client, tenant: Tenant
) -> None:
    created = declare(http)
    url = f"{INCIDENTS}/{created['id']}/acknowledge"

    before = to_millisecond(datetime.now(UTC))
    first = ok(http.post(url))
    after = datetime.now(UTC)
    second = ok(http.post(url))

    assert first["acknowledged_by"] == tenant.owner.email
    assert before <= at(first["acknowledged_at"]) <= after
    assert first["state"] == "investigating"
    assert kinds(first) == ["opened", "acknowledged"]
    acknowledged = first["timeline"][-1]
    assert (acknowledged["author"], acknowledged["public"]) == (tenant.owner.email, False)
    assert tenant.owner.email in acknowledged["body"]
    assert second == first
    assert incident(http, created["id"]) == first


# --- updates ------------------------------------------------------------------------------


def test_a_public_update_with_a_state_moves_the_incident_and_joins_the_timeline(
    http: httpx.Client, tenant: Tenant
) -> None:
    created = declare(http)

    response = http.post(
        f"{INCIDENTS}/{created['id']}/updates",
        json={"body": "Found it: a bad deploy.", "state": "identified", "public": True},
    )

    entry = ok(response, 201)
    assert uuid.UUID(entry["id"])
    expected = {
        "kind": "note",
        "state": "identified",
        "body": "Found it: a bad deploy.",
        "public": True,
        "author": tenant.owner.email,
    }
    assert {name: entry[name] for name in expected} == expected
    shown = incident(http, created["id"])
    assert shown["state"] == "identified"
    assert kinds(shown) == ["opened", "note"]
    assert shown["timeline"][-1] == entry


def test_an_internal_update_is_not_public_and_keeps_the_state(
    http: httpx.Client, tenant: Tenant
) -> None:
    created = declare(http, state="monitoring")

    entry = ok(
        http.post(f"{INCIDENTS}/{created['id']}/updates", json={"body": "Paged the DBA."}), 201
    )

    assert (entry["kind"], entry["public"], entry["author"], entry["state"]) == (
        "note",
        False,
        tenant.owner.email,
        "monitoring",
    )
    shown = incident(http, created["id"])
    assert shown["state"] == "monitoring"
    assert shown["timeline"] == [*created["timeline"], entry]


# --- resolve ------------------------------------------------------------------------------


def test_resolving_with_a_message_ends_the_incident_and_its_timeline(
    http: httpx.Client, tenant: Tenant
) -> None:
    created = declare(http, started_at=STARTED)

    resolved = ok(
        http.post(f"{INCIDENTS}/{created['id']}/resolve", json={"message": "Rolled back."})
    )

    assert (resolved["state"], resolved["resolved_by"]) == ("resolved", tenant.owner.email)
    assert resolved["auto_resolved"] is False
    elapsed = (at(resolved["resolved_at"]) - at(STARTED)).total_seconds()
    assert resolved["duration_seconds"] >= 0
    assert resolved["duration_seconds"] == pytest.approx(elapsed, abs=0.002)
    assert kinds(resolved) == ["opened", "resolved"]
    last = resolved["timeline"][-1]
    assert (last["body"], last["state"], last["author"]) == (
        "Rolled back.",
        "resolved",
        tenant.owner.email,
    )
    assert incident(http, created["id"]) == resolved
    assert incidents(http, open="false") == [summary_of(resolved)]
    assert incidents(http, open="true") == []


def test_resolving_without_a_body_is_allowed(http: httpx.Client) -> None:
    created = declare(http)

    resolved = ok(http.post(f"{INCIDENTS}/{created['id']}/resolve"))

    assert resolved["state"] == "resolved"
    assert kinds(resolved) == ["opened", "resolved"]
    assert resolved["timeline"][-1]["body"]


def test_a_resolved_incident_refuses_every_change_but_the_postmortem(
    http: httpx.Client,
) -> None:
    created = declare(http)
    url = f"{INCIDENTS}/{created['id']}"
    resolved = ok(http.post(f"{url}/resolve", json={"message": "Fixed."}))

    refused = [
        http.post(f"{url}/resolve", json={"message": "Fixed again."}),
        http.post(f"{url}/resolve"),
        http.patch(url, json={"title": "Renamed"}),
        http.patch(url, json={"state": "monitoring"}),
        http.post(f"{url}/acknowledge"),
        http.post(f"{url}/updates", json={"body": "One more thing."}),
    ]

    for response in refused:
        error(response, 409, "CONFLICT")
    assert incident(http, created["id"]) == resolved

    written = ok(http.put(f"{url}/postmortem", json={"markdown": "# What happened\n\nA deploy."}))

    assert written["postmortem"] == "# What happened\n\nA deploy."
    assert written["state"] == "resolved"
    assert written["timeline"] == resolved["timeline"]
    assert incident(http, created["id"]) == written


def test_the_postmortem_can_be_written_while_open_and_replaced(http: httpx.Client) -> None:
    created = declare(http)
    url = f"{INCIDENTS}/{created['id']}/postmortem"

    assert ok(http.put(url, json={"markdown": "draft"}))["postmortem"] == "draft"
    replaced = ok(http.put(url, json={"markdown": "final"}))

    assert (replaced["postmortem"], replaced["state"]) == ("final", "investigating")
    assert field_errors(http.put(url, json={})) == {"markdown": "required"}
    assert incident(http, created["id"])["postmortem"] == "final"


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        pytest.param("GET", "", None, id="read"),
        pytest.param("PATCH", "", {"title": "Taken over"}, id="patch"),
        pytest.param("POST", "/acknowledge", None, id="acknowledge"),
        pytest.param("POST", "/resolve", None, id="resolve"),
        pytest.param("POST", "/updates", {"body": "Taken over"}, id="updates"),
        pytest.param("PUT", "/postmortem", {"markdown": "Taken over"}, id="postmortem"),
    ],
)
def test_another_organizations_incident_is_not_found_like_a_missing_one(
    api: ApiHarness, http: httpx.Client, method: str, suffix: str, body: Any
) -> None:
    created = declare(http, title="Private trouble")
    other = api.seed.tenant()

    with api.client(other.owner.token) as theirs:
        foreign = theirs.request(method, f"{INCIDENTS}/{created['id']}{suffix}", json=body)
        missing = theirs.request(method, f"{INCIDENTS}/{uuid.uuid4()}{suffix}", json=body)
        listed = incidents(theirs)

    error(foreign, 404, "NOT_FOUND")
    assert foreign.json() == missing.json()
    assert "Private trouble" not in foreign.text
    assert listed == []
    assert incident(http, created["id"]) == created


# --- CSV ----------------------------------------------------------------------------------


def test_the_csv_export_has_a_header_and_one_formula_safe_line_per_incident(
    http: httpx.Client,
) -> None:
    first = declare(http, title='=HYPERLINK("http://evil")', impact="critical")
    second = declare(http, title="Plain, with a comma", started_at=STARTED)
    ok(http.post(f"{INCIDENTS}/{first['id']}/acknowledge"))
    ok(http.post(f"{INCIDENTS}/{second['id']}/resolve"))
    listed = incidents(http)

    response = http.get(INCIDENTS, params={"format": "csv"})

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["content-disposition"]
    lines = response.text.splitlines()
    assert lines[0] == CSV_HEADER
    assert len(lines) == 1 + len(listed) == 3
    header, *rows = list(csv.reader(io.StringIO(response.text)))
    by_id = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    assert list(by_id) == [item["id"] for item in listed]

    dangerous = by_id[first["id"]]
    assert dangerous["title"] == '\'=HYPERLINK("http://evil")'
    assert (dangerous["impact"], dangerous["state"]) == ("critical", "investigating")
    assert (
        dangerous["monitor_id"] == dangerous["resolved_at"] == dangerous["duration_seconds"] == ""
    )
    plain = by_id[second["id"]]
    resolved = incident(http, second["id"])
    assert plain["title"] == "Plain, with a comma"
    assert (plain["state"], plain["started_at"]) == ("resolved", STARTED)
    assert plain["resolved_at"] == resolved["resolved_at"]
    assert float(plain["duration_seconds"]) == resolved["duration_seconds"]
    for item in listed:
        row = by_id[item["id"]]
        for name in ("acknowledged_at", "acknowledged_by", "resolved_by", "started_at"):
            assert row[name] == ("" if item[name] is None else item[name]), name


def test_the_csv_export_of_no_incidents_is_the_header_alone(http: httpx.Client) -> None:
    response = http.get(INCIDENTS, params={"format": "csv"})

    assert response.status_code == 200, response.text
    assert response.text.splitlines() == [CSV_HEADER]


# --- audit --------------------------------------------------------------------------------


def test_every_change_to_an_incident_is_audited_with_its_action(
    http: httpx.Client, tenant: Tenant
) -> None:
    created = declare(http, title="Audited")
    url = f"{INCIDENTS}/{created['id']}"
    ok(http.patch(url, json={"impact": "major"}))
    ok(http.post(f"{url}/acknowledge"))
    ok(http.post(f"{url}/acknowledge"))  # no change, so no entry
    ok(http.post(f"{url}/updates", json={"body": "Investigating the cache.", "public": True}), 201)
    ok(http.post(f"{url}/resolve", json={"message": "Done."}))
    error(http.post(f"{url}/resolve"), 409, "CONFLICT")  # refused, so no entry
    ok(http.put(f"{url}/postmortem", json={"markdown": "Cache stampede."}))

    log = audit(http, resource=f"incident:{created['id']}")

    assert [entry["action"] for entry in log] == [
        "incident.postmortem",
        "incident.resolve",
        "incident.update_posted",
        "incident.acknowledge",
        "incident.update",
        "incident.create",
    ]
    for entry in log:
        assert entry["resource"] == {"type": "incident", "id": created["id"]}
        assert entry["actor"]["user_id"] == str(tenant.owner.user_id)
        assert entry["actor"]["email"] == tenant.owner.email
    changes = {entry["action"]: entry["changes"] for entry in log}
    assert changes["incident.update"] == {"impact": {"from": "minor", "to": "major"}}
    assert changes["incident.create"]["title"]["to"] == "Audited"
    assert changes["incident.update_posted"]["update"] == {"to": "Investigating the cache."}
    assert changes["incident.resolve"]["state"]["to"] == "resolved"
    assert changes["incident.postmortem"]["postmortem"]["to"] == "Cache stampede."
    assert [entry["action"] for entry in audit(http, resource="incident")] == [
        entry["action"] for entry in log
    ]


def test_a_change_that_changes_nothing_is_not_audited(http: httpx.Client) -> None:
    created = declare(http, impact="major")

    unchanged = ok(http.patch(f"{INCIDENTS}/{created['id']}", json={"impact": "major"}))

    assert unchanged == created
    actions = [entry["action"] for entry in audit(http, resource=f"incident:{created['id']}")]
    assert actions == ["incident.create"]


# --- events -------------------------------------------------------------------------------


@pytest.mark.real_server  # reads the event stream while the app keeps running
def test_each_change_is_announced_as_an_incident_event(
    api: ApiHarness, http: httpx.Client, tenant: Tenant
) -> None:
    with event_stream(api, tenant.owner.token, ["incident.*"]) as stream:
        created = declare(http, title="Announced", impact="major")
        url = f"{INCIDENTS}/{created['id']}"
        opened = stream.next().envelope
        ok(http.post(f"{url}/acknowledge"))
        acknowledged = stream.next().envelope
        ok(http.post(f"{url}/updates", json={"body": "Found it.", "state": "identified"}), 201)
        updated = stream.next().envelope
        ok(http.post(f"{url}/resolve"))
        resolved = stream.next().envelope

    received = [opened, acknowledged, updated, resolved]
    assert [event["type"] for event in received] == [
        "incident.opened",
        "incident.acknowledged",
        "incident.updated",
        "incident.resolved",
    ]
    for event in received:
        assert event["data"]["incident_id"] == created["id"]
        assert event["data"]["title"] == "Announced"
        assert "monitor_id" not in event["data"]
        assert "heartbeat_id" not in event["data"]
    assert (opened["data"]["impact"], opened["data"]["state"]) == ("major", "investigating")
    assert opened["data"]["started_at"] == created["started_at"]
    assert updated["data"]["state"] == "identified"
    final = incident(http, created["id"])
    assert resolved["data"]["state"] == "resolved"
    assert resolved["data"]["resolved_at"] == final["resolved_at"]
    assert resolved["data"]["auto_resolved"] is False


# --- roles and scopes ---------------------------------------------------------------------


def test_a_viewer_can_read_incidents_but_not_change_them(
    api: ApiHarness, http: httpx.Client, tenant: Tenant
) -> None:
    created = declare(http)
    url = f"{INCIDENTS}/{created['id']}"
    viewer = api.seed.person(tenant.organization_id, Role.VIEWER)

    with api.client(viewer.token) as theirs:
        assert [item["id"] for item in incidents(theirs)] == [created["id"]]
        assert ok(theirs.get(url)) == created
        refused = [
            theirs.post(INCIDENTS, json={"title": "Not allowed"}),
            theirs.patch(url, json={"title": "Not allowed"}),
            theirs.post(f"{url}/acknowledge"),
            theirs.post(f"{url}/updates", json={"body": "Not allowed"}),
            theirs.post(f"{url}/resolve"),
            theirs.put(f"{url}/postmortem", json={"markdown": "Not allowed"}),
        ]

    for response in refused:
        error(response, 403, "FORBIDDEN")
    assert incidents(http) == [summary_of(created)]
    assert incident(http, created["id"]) == created


def test_a_member_may_declare_and_resolve(api: ApiHarness, tenant: Tenant) -> None:
    member = api.seed.person(tenant.organization_id, Role.MEMBER)

    with api.client(member.token) as theirs:
        created = declare(theirs)
        resolved = ok(theirs.post(f"{INCIDENTS}/{created['id']}/resolve"))

    assert created["timeline"][0]["author"] == member.email
    assert resolved["resolved_by"] == member.email


def test_a_read_only_token_can_read_but_not_declare(
    api: ApiHarness, http: httpx.Client, tenant: Tenant
) -> None:
    created = declare(http)
    token = api.seed.token_for(tenant.owner, tenant.organization_id, ["incidents:read"])

    with api.client(token) as reader:
        assert ok(reader.get(f"{INCIDENTS}/{created['id']}")) == created
        declared = reader.post(INCIDENTS, json={"title": "Not allowed"})
        acknowledged = reader.post(f"{INCIDENTS}/{created['id']}/acknowledge")

    error(declared, 403, "TOKEN_SCOPE_INSUFFICIENT")
    error(acknowledged, 403, "TOKEN_SCOPE_INSUFFICIENT")
    assert incidents(http) == [summary_of(created)]


# --- automatic and manual together --------------------------------------------------------


def ping(
    pinger: httpx.Client, heartbeat: dict[str, Any], signal: str = "", body: bytes = b""
) -> None:
    """POST the heartbeat's public ping path on the test server (its host is not this one)."""
    path = urlsplit(heartbeat["ping_url"]).path + (f"/{signal}" if signal else "")
    response = pinger.post(path, content=body)
    assert response.status_code == 200, response.text
    assert response.text == "OK"


def test_a_heartbeats_incident_resolved_by_hand_stays_resolved_and_the_next_failure_opens_another(
    api: ApiHarness, http: httpx.Client, tenant: Tenant
) -> None:
    heartbeat = ok(
        http.post(HEARTBEATS, json={"name": "Backup", "period_seconds": 60, "grace_seconds": 30}),
        201,
    )
    beat_url = f"{HEARTBEATS}/{heartbeat['id']}"

    with api.client() as pinger:
        ping(pinger, heartbeat, "fail", b"disk full")
        [opened] = incidents(http)
        assert (opened["auto_created"], opened["heartbeat_id"]) == (True, heartbeat["id"])
        assert opened["state"] == "investigating"

        acknowledged = ok(http.post(f"{INCIDENTS}/{opened['id']}/acknowledge"))
        assert acknowledged["acknowledged_by"] == tenant.owner.email
        resolved = ok(
            http.post(f"{INCIDENTS}/{opened['id']}/resolve", json={"message": "Freed space."})
        )
        assert (resolved["state"], resolved["resolved_by"]) == ("resolved", tenant.owner.email)
        assert resolved["auto_resolved"] is False
        assert kinds(resolved) == ["opened", "acknowledged", "resolved"]

        ping(pinger, heartbeat)
        assert ok(http.get(beat_url))["status"] == "up"
        assert incident(http, opened["id"]) == resolved
        assert incidents(http) == [summary_of(resolved)]

        ping(pinger, heartbeat, "fail", b"disk full again")

    assert ok(http.get(beat_url))["status"] == "down"
    newest, older = incidents(http)
    assert older == summary_of(resolved)
    assert newest["id"] != opened["id"]
    assert (newest["state"], newest["auto_created"], newest["heartbeat_id"]) == (
        "investigating",
        True,
        heartbeat["id"],
    )
    assert (newest["acknowledged_at"], newest["resolved_at"]) == (None, None)
    assert newest["cause"] == "failure ping: disk full again"
