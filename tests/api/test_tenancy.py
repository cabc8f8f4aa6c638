"""Tenancy: another organization's resource answers 404 NOT_FOUND exactly like a missing one.

Two organizations hold the same kinds of resources (tokens, members, invitations, monitors,
heartbeats). For every route that takes an id, the other organization gets the same 404 as
for a random id (never 403, never data) and nothing changes; lists never show the other
organization's data.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import ApiHarness, SettingsFactory
from tests.support.accounts import Person, Tenant
from upwatch.api.auth import is_public
from upwatch.api.routes import api_routes
from upwatch.core.scopes import Role
from upwatch.settings import Settings


@dataclass(frozen=True)
class Org:
    """One organization and the resources created in it over the API."""

    tenant: Tenant
    member: Person
    token: str  # plaintext of a token the owner minted
    token_id: str
    token_prefix: str
    invitation_id: str
    invitation_email: str
    monitor_id: str
    monitor_name: str
    group_id: str
    website_id: str
    heartbeat_id: str
    heartbeat_name: str
    incident_id: str
    channel_id: str
    channel_name: str
    window_id: str
    silence_id: str
    webhook_id: str

    @property
    def owner(self) -> Person:
        return self.tenant.owner

    def id_of(self, kind: str) -> str:
        ids = {
            "token": self.token_id,
            "member": str(self.member.user_id),
            "invitation": self.invitation_id,
            "monitor": self.monitor_id,
            "group": self.group_id,
            "website": self.website_id,
            "heartbeat": self.heartbeat_id,
            "incident": self.incident_id,
            "channel": self.channel_id,
            "window": self.window_id,
            "silence": self.silence_id,
            "webhook": self.webhook_id,
        }
        return ids[kind]

    def secrets(self) -> list[str]:
        """Everything that identifies this organization's data in an answer."""
        return [
            str(self.tenant.organization_id),
            self.tenant.name,
            self.owner.email,
            str(self.owner.user_id),
            str(self.owner.token_id),
            self.owner.token[:12],
            self.member.email,
            str(self.member.user_id),
            str(self.member.token_id),
            self.token_id,
            self.token_prefix,
            self.invitation_id,
            self.invitation_email,
            self.monitor_id,
            self.monitor_name,
            f"{self.tenant.name} secret header value",
            self.heartbeat_id,
            self.heartbeat_name,
            self.incident_id,
            self.channel_id,
            self.channel_name,
            self.window_id,
            self.silence_id,
            self.webhook_id,
            f"http://127.0.0.1:9/{self.tenant.name.lower()}-events",
        ]


@dataclass(frozen=True)
class Target:
    """A route that takes a resource id, and what to send it."""

    method: str
    path: str
    kind: str  # token, member, invitation, monitor, group, website, heartbeat, incident
    body: dict[str, Any] | None = None
    # What the owner gets: success, except where the resource itself says no (a website
    # whose verification file does not exist answers 409, not 404).
    owner_statuses: tuple[int, ...] = (200, 204)

    def url(self, resource_id: str) -> str:
        return re.sub(r"\{[^}]+\}", resource_id, self.path)


TARGETS = [
    Target("DELETE", "/api/v1/me/tokens/{token_id}", "token"),
    Target("PATCH", "/api/v1/members/{user_id}", "member", {"role": "viewer"}),
    Target("DELETE", "/api/v1/members/{user_id}", "member"),
    Target("DELETE", "/api/v1/invitations/{invitation_id}", "invitation"),
    Target("GET", "/api/v1/monitors/{monitor_id}", "monitor"),
    Target("PATCH", "/api/v1/monitors/{monitor_id}", "monitor", {"name": "Renamed"}),
    Target("DELETE", "/api/v1/monitors/{monitor_id}", "monitor"),
    Target("POST", "/api/v1/monitors/{monitor_id}/pause", "monitor"),
    Target("POST", "/api/v1/monitors/{monitor_id}/resume", "monitor"),
    Target("POST", "/api/v1/monitors/{monitor_id}/run", "monitor"),
    Target("GET", "/api/v1/monitors/{monitor_id}/secrets", "monitor"),
    Target("GET", "/api/v1/monitors/{monitor_id}/checks", "monitor"),
    Target("GET", "/api/v1/monitors/{monitor_id}/stats", "monitor"),
    Target("GET", "/api/v1/monitors/{monitor_id}/timeline", "monitor"),
    Target("GET", "/api/v1/monitors/{monitor_id}/uptime/daily", "monitor"),
    Target("GET", "/api/v1/monitor-groups/{group_id}", "group"),
    Target("PATCH", "/api/v1/monitor-groups/{group_id}", "group", {"name": "Renamed"}),
    Target("DELETE", "/api/v1/monitor-groups/{group_id}", "group"),
    Target("GET", "/api/v1/websites/{website_id}", "website"),
    Target("DELETE", "/api/v1/websites/{website_id}", "website"),
    Target("POST", "/api/v1/websites/{website_id}/verify", "website", {"method": "file"}, (409,)),
    Target("GET", "/api/v1/heartbeats/{heartbeat_id}", "heartbeat"),
    Target("PATCH", "/api/v1/heartbeats/{heartbeat_id}", "heartbeat", {"name": "Renamed"}),
    Target("PUT", "/api/v1/heartbeats/{heartbeat_id}", "heartbeat", {"grace_seconds": 60}),
    Target("DELETE", "/api/v1/heartbeats/{heartbeat_id}", "heartbeat"),
    Target("POST", "/api/v1/heartbeats/{heartbeat_id}/pause", "heartbeat"),
    Target("POST", "/api/v1/heartbeats/{heartbeat_id}/resume", "heartbeat"),
    Target("POST", "/api/v1/heartbeats/{heartbeat_id}/rotate-token", "heartbeat"),
    Target("GET", "/api/v1/heartbeats/{heartbeat_id}/secrets", "heartbeat"),
    Target("GET", "/api/v1/heartbeats/{heartbeat_id}/pings", "heartbeat"),
    Target("GET", "/api/v1/heartbeats/{heartbeat_id}/runs", "heartbeat"),
    Target("GET", "/api/v1/heartbeats/{heartbeat_id}/stats", "heartbeat"),
    Target("GET", "/api/v1/heartbeats/{heartbeat_id}/uptime/daily", "heartbeat"),
    Target("GET", "/api/v1/incidents/{incident_id}", "incident"),
    Target("PATCH", "/api/v1/incidents/{incident_id}", "incident", {"impact": "critical"}),
    Target("POST", "/api/v1/incidents/{incident_id}/acknowledge", "incident"),
    Target("POST", "/api/v1/incidents/{incident_id}/resolve", "incident"),
    Target(
        "POST", "/api/v1/incidents/{incident_id}/updates", "incident", {"body": "On it"}, (201,)
    ),
    Target("PUT", "/api/v1/incidents/{incident_id}/postmortem", "incident", {"markdown": "# Why"}),
    Target("GET", "/api/v1/channels/{channel_id}", "channel"),
    Target("PATCH", "/api/v1/channels/{channel_id}", "channel", {"min_impact": "major"}),
    Target("DELETE", "/api/v1/channels/{channel_id}", "channel"),
    Target("GET", "/api/v1/channels/{channel_id}/secrets", "channel"),
    Target("GET", "/api/v1/channels/{channel_id}/deliveries", "channel"),
    Target("POST", "/api/v1/channels/{channel_id}/test", "channel"),
    Target("POST", "/api/v1/monitors/{monitor_id}/test-alert", "monitor"),
    Target("GET", "/api/v1/maintenance-windows/{window_id}", "window"),
    Target(
        "PUT",
        "/api/v1/maintenance-windows/{window_id}",
        "window",
        {
            "title": "Moved",
            "starts_at": "2030-01-01T00:00:00Z",
            "ends_at": "2030-01-01T01:00:00Z",
            "all_subjects": True,
        },
    ),
    Target("DELETE", "/api/v1/maintenance-windows/{window_id}", "window"),
    Target("GET", "/api/v1/silences/{silence_id}", "silence"),
    Target("POST", "/api/v1/silences/{silence_id}/expire", "silence"),
    Target("GET", "/api/v1/webhooks/{webhook_id}", "webhook"),
    Target("PATCH", "/api/v1/webhooks/{webhook_id}", "webhook", {"event_types": ["*"]}),
    Target("DELETE", "/api/v1/webhooks/{webhook_id}", "webhook"),
    Target("GET", "/api/v1/webhooks/{webhook_id}/deliveries", "webhook"),
    Target("GET", "/api/v1/webhooks/{webhook_id}/secrets", "webhook"),
    # Port 9 refuses at once: the owner's test send fails on this machine, never elsewhere.
    Target("POST", "/api/v1/webhooks/{webhook_id}/test", "webhook"),
    Target("DELETE", "/api/v1/silences/{silence_id}", "silence"),
]


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def _organization(api: ApiHarness, name: str) -> Org:
    tenant = api.seed.tenant(name)
    member = api.seed.person(tenant.organization_id, Role.MEMBER)
    email = f"invitee-{uuid.uuid4().hex[:8]}@example.com"
    with api.client(tenant.owner.token) as http:
        token = _ok(http.post("/api/v1/me/tokens", json={"name": f"{name} ci"}), 201)
        invitation = _ok(
            http.post("/api/v1/invitations", json={"email": email, "role": "member"}), 201
        )
        monitor = _ok(http.post("/api/v1/monitors", json=_monitor(name)), 201)
        group = _ok(http.post("/api/v1/monitor-groups", json={"name": f"{name} team"}), 201)
        # 127.0.0.1: verifying it (the owner control) never sends traffic off this machine.
        website = _ok(http.post("/api/v1/websites", json={"domain": "127.0.0.1"}), 201)
        heartbeat = _ok(http.post("/api/v1/heartbeats", json={"name": f"{name} backup"}), 201)
        assert _ok_ping(http, heartbeat["ping_url"])
        assert _ok_ping(http, heartbeat["ping_url"] + "/fail")  # down: an incident opens
        (incident,) = _ok(http.get("/api/v1/incidents"))["data"]
        # Email: no SMTP server in these tests, so a test send fails here, never elsewhere.
        channel = _ok(http.post("/api/v1/channels", json={
            "name": f"{name} on-call", "kind": "email", "config": {"to": ["ops@example.com"]},
        }), 201)  # fmt: skip
        window = _ok(http.post("/api/v1/maintenance-windows", json={
            "title": f"{name} upgrade", "starts_at": "2030-01-01T00:00:00Z",
            "ends_at": "2030-01-01T02:00:00Z", "monitor_ids": [monitor["id"]],
        }), 201)  # fmt: skip
        silence = _ok(http.post("/api/v1/silences", json={
            "comment": f"{name} quiet", "ends_at": "2030-01-01T00:00:00Z",
            "monitor_ids": [monitor["id"]],
        }), 201)  # fmt: skip
        # Loopback (allowed in this module's settings), port 9: nothing ever listens there.
        webhook = _ok(http.post("/api/v1/webhooks", json={
            "url": f"http://127.0.0.1:9/{name.lower()}-events", "event_types": ["incident.*"],
        }), 201)  # fmt: skip
    return Org(
        tenant,
        member,
        token["token"],
        token["id"],
        token["prefix"],
        invitation["id"],
        email,
        monitor["id"],
        monitor["name"],
        group["id"],
        website["id"],
        heartbeat["id"],
        heartbeat["name"],
        incident["id"],
        channel["id"],
        channel["name"],
        window["id"],
        silence["id"],
        webhook["id"],
    )


def _ok_ping(http: httpx.Client, url: str) -> bool:
    """A ping, so the heartbeat has pings, a run and a state change to leak, if anything did."""
    return http.post(urlsplit(url).path, content=b"job output").text == "OK"


def _monitor(organization: str) -> dict[str, Any]:
    """An on-demand monitor (only a run checks it) whose target refuses at once."""
    return {
        "name": f"{organization} homepage",
        "kind": "http",
        "target": f"http://127.0.0.1:9/{organization.lower()}",
        "interval_seconds": 10,
        "timeout_ms": 2000,
        "execution_mode": "on_demand",
        "config": {"headers": {"X-Api-Key": f"{organization} secret header value"}},
    }


@pytest.fixture
def api_settings(make_settings: SettingsFactory, database_url: str) -> Settings:
    """Destinations on loopback are allowed here: the webhooks point at a closed port."""
    return make_settings(database_url=database_url, allow_private_destinations=True)


@pytest.fixture
def orgs(api: ApiHarness) -> tuple[Org, Org]:
    return _organization(api, "Acme"), _organization(api, "Globex")


def _call(api: ApiHarness, caller: Org, target: Target, resource_id: str) -> httpx.Response:
    with api.client(caller.owner.token) as http:
        return http.request(target.method, target.url(resource_id), json=target.body)


def _snapshot(api: ApiHarness, org: Org) -> dict[str, Any]:
    """What the organization's owner sees of its resources."""
    with api.client(org.owner.token) as http:
        return {
            "members": _ok(http.get("/api/v1/members"))["data"],
            "invitations": _ok(http.get("/api/v1/invitations"))["data"],
            "tokens": [
                {**token, "last_used_at": None}  # touched by reading, at most once a minute
                for token in _ok(http.get("/api/v1/me/tokens"))["data"]
            ],
            "audit": _ok(http.get("/api/v1/audit-logs", params={"limit": 100}))["data"],
            "monitors": _ok(http.get("/api/v1/monitors"))["data"],
            "groups": _ok(http.get("/api/v1/monitor-groups"))["data"],
            "websites": _ok(http.get("/api/v1/websites"))["data"],
            "heartbeats": [
                _ok(http.get(f"/api/v1/heartbeats/{heartbeat['id']}"))
                for heartbeat in _ok(http.get("/api/v1/heartbeats"))["data"]
            ],
            "incidents": _ok(http.get("/api/v1/incidents"))["data"],
            "channels": _ok(http.get("/api/v1/channels"))["data"],
            "windows": _ok(http.get("/api/v1/maintenance-windows"))["data"],
            "silences": _ok(http.get("/api/v1/silences"))["data"],
            "webhooks": _ok(http.get("/api/v1/webhooks"))["data"],
            "alerts": _ok(http.get("/api/v1/alerts"))["data"],
            "checks": [
                _ok(http.get(f"/api/v1/monitors/{monitor['id']}/checks"))["data"]
                for monitor in _ok(http.get("/api/v1/monitors"))["data"]
            ],
        }


def _still_works(api: ApiHarness, token: str) -> bool:
    with api.client(token) as http:
        return http.get("/api/v1/me").status_code == 200


# --- routes with an id --------------------------------------------------------------------


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: f"{t.method} {t.path}")
def test_another_organizations_resource_is_not_found_like_a_missing_one(
    api: ApiHarness, orgs: tuple[Org, Org], target: Target
) -> None:
    acme, globex = orgs
    before = _snapshot(api, acme)

    missing = _call(api, globex, target, str(uuid.uuid4()))
    foreign = _call(api, globex, target, acme.id_of(target.kind))

    assert missing.status_code == 404, missing.text
    assert missing.json()["code"] == "NOT_FOUND"
    assert (foreign.status_code, foreign.json()) == (missing.status_code, missing.json())
    assert _snapshot(api, acme) == before
    assert _still_works(api, acme.token)
    assert _still_works(api, acme.member.token)


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: f"{t.method} {t.path}")
def test_the_owning_organization_can_still_act_on_its_resource(
    api: ApiHarness, orgs: tuple[Org, Org], target: Target
) -> None:
    """The control: the same call with the owner's own id succeeds, so the 404 above is about
    the organization, not about the request."""
    acme, globex = orgs
    assert _call(api, globex, target, acme.id_of(target.kind)).status_code == 404

    response = _call(api, acme, target, acme.id_of(target.kind))
    assert response.status_code in target.owner_statuses, response.text


def test_a_token_of_another_member_of_my_organization_is_not_mine_to_revoke(
    api: ApiHarness, orgs: tuple[Org, Org]
) -> None:
    acme, _ = orgs
    with api.client(acme.member.token) as http:
        response = http.delete(f"/api/v1/me/tokens/{acme.token_id}")
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "NOT_FOUND"
    assert _still_works(api, acme.token)


def test_every_route_with_an_id_is_in_the_tenancy_table() -> None:
    """A new route that takes an id must be added to TARGETS (and so proven tenant-safe)."""
    covered = {(target.method, target.path) for target in TARGETS}
    with_ids = {
        (method, route.path)
        for route in api_routes()
        if route.param_convertors and not is_public(route)  # public: ping credentials, no org
        for method in route.methods - {"HEAD"}
    }
    assert with_ids - covered == set(), "add these routes to TARGETS"
    assert covered - with_ids == set(), "TARGETS names routes that no longer exist"


# --- lists --------------------------------------------------------------------------------

LISTS = [
    "/api/v1/members",
    "/api/v1/invitations",
    "/api/v1/me/tokens",
    "/api/v1/me",
    "/api/v1/audit-logs?limit=100",
    "/api/v1/audit-logs?format=csv",
    "/api/v1/monitors",
    "/api/v1/monitors?q=homepage",
    "/api/v1/heartbeats",
    "/api/v1/heartbeats?q=backup",
    "/api/v1/channels",
    "/api/v1/maintenance-windows",
    "/api/v1/silences",
    "/api/v1/webhooks",
    "/api/v1/alerts",
    "/api/v1/alerts/active",
    "/api/v1/incidents",
    "/api/v1/incidents?open=true",
]


@pytest.mark.parametrize("path", LISTS)
def test_a_list_never_shows_another_organizations_data(
    api: ApiHarness, orgs: tuple[Org, Org], path: str
) -> None:
    for mine, theirs in (orgs, orgs[::-1]):
        with api.client(mine.owner.token) as http:
            response = http.get(path)
        assert response.status_code == 200, response.text
        leaked = [value for value in theirs.secrets() if value in response.text]
        assert leaked == [], f"{mine.tenant.name} sees {theirs.tenant.name}'s {leaked}"


def test_my_lists_show_my_own_resources(api: ApiHarness, orgs: tuple[Org, Org]) -> None:
    """The control for the test above: each list does show its own organization's data."""
    for org in orgs:
        seen = _snapshot(api, org)
        assert {item["email"] for item in seen["members"]} == {org.owner.email, org.member.email}
        assert [item["id"] for item in seen["invitations"]] == [org.invitation_id]
        assert org.token_id in {item["id"] for item in seen["tokens"]}
        assert [item["id"] for item in seen["monitors"]] == [org.monitor_id]
        assert [(item["id"], item["pings"]) for item in seen["heartbeats"]] == [
            (org.heartbeat_id, 2)
        ]
        assert [item["id"] for item in seen["incidents"]] == [org.incident_id]
        assert {"token.create", "invitation.create", "monitor.create", "heartbeat.create"} <= {
            item["action"] for item in seen["audit"]
        }


@pytest.mark.parametrize(
    ("parameter", "value"),
    [("actor", lambda org: str(org.owner.user_id)), ("token", lambda org: str(org.owner.token_id))],
)
def test_audit_filters_by_another_organizations_ids_find_nothing(
    api: ApiHarness, orgs: tuple[Org, Org], parameter: str, value: Any
) -> None:
    acme, globex = orgs
    with api.client(globex.owner.token) as http:
        response = http.get("/api/v1/audit-logs", params={parameter: value(acme)})
    assert _ok(response)["data"] == []
    with api.client(acme.owner.token) as http:
        assert _ok(http.get("/api/v1/audit-logs", params={parameter: value(acme)}))["data"]
