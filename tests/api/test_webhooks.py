"""Webhook subscriptions (`/api/v1/webhooks`) over real HTTP on each backend: an
organization's endpoints receive its events, signed with its secret, delivered by the app's
dispatcher to real receivers on loopback."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.support.alerting import (
    INCIDENTS,
    Hit,
    Local,
    LocalHttp,
    Start,
    arrived,
    check,
    create_heartbeat,
    create_monitor,
    eventually,
    manual_clock,
    ok,
    ping,
    stays_quiet,
    webhook_secret,
)
from upwatch.channels.signing import verify
from upwatch.core.scopes import Role

# A real uvicorn server: clients of their own reach the app by URL.
pytestmark = pytest.mark.real_server

WEBHOOKS = "/api/v1/webhooks"


def subscribe(http: httpx.Client, receiver: LocalHttp, *event_types: str) -> dict[str, Any]:
    body = {"url": receiver.url(), "event_types": list(event_types)}
    return ok(http.post(WEBHOOKS, json=body), 201)  # type: ignore[no-any-return]


def events_of(receiver: LocalHttp) -> list[str]:
    return [hit.event for hit in receiver.hits]


def hit_of(receiver: LocalHttp, event_type: str) -> Hit:
    return eventually(
        lambda: next((hit for hit in receiver.hits if hit.event == event_type), None),
        f"a {event_type} delivery",
    )


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()  # type: ignore[no-any-return]


# --- managing subscriptions -----------------------------------------------------------------


def test_a_subscription_is_created_read_listed_changed_and_deleted(
    local: Local, start: Start
) -> None:
    http = start().http
    receiver = local()
    created = http.post(
        WEBHOOKS,
        json={"url": receiver.url(), "event_types": ["incident.*"], "description": "pager"},
    )
    webhook = ok(created, 201)
    assert created.headers["location"] == f"{WEBHOOKS}/{webhook['id']}"
    assert (webhook["has_url"], webhook["url_host"]) == (True, "127.0.0.1")
    assert webhook["event_types"] == ["incident.*"]
    assert webhook["is_enabled"] is True
    assert webhook["consecutive_failures"] == 0
    path = f"{WEBHOOKS}/{webhook['id']}"
    assert ok(http.get(path)) == webhook
    assert [w["id"] for w in ok(http.get(WEBHOOKS))["data"]] == [webhook["id"]]

    changed = ok(http.patch(path, json={"event_types": ["*"], "is_enabled": False}))
    assert changed["event_types"] == ["*"]
    assert changed["is_enabled"] is False
    assert ok(http.get(path))["event_types"] == ["*"]

    ok(http.delete(path), 204)
    assert error_of(http.get(path), 404)["code"] == "NOT_FOUND"
    assert ok(http.get(WEBHOOKS))["data"] == []


def test_unknown_event_types_and_missing_fields_are_refused_naming_the_field(
    local: Local, start: Start
) -> None:
    http = start().http
    url = local().url()
    unknown = error_of(
        http.post(WEBHOOKS, json={"url": url, "event_types": ["incident.opened", "nope"]}), 400
    )
    assert unknown["code"] == "VALIDATION_FAILED"
    assert [field["path"] for field in unknown["fields"]] == ["event_types[1]"]
    empty = error_of(http.post(WEBHOOKS, json={"url": url, "event_types": []}), 400)
    assert [field["path"] for field in empty["fields"]] == ["event_types"]
    bad_url = error_of(http.post(WEBHOOKS, json={"url": "ftp://x", "event_types": ["*"]}), 400)
    assert [field["path"] for field in bad_url["fields"]] == ["url"]
    assert ok(http.get(WEBHOOKS))["data"] == []


def test_a_loopback_destination_is_refused_unless_the_operator_allows_it(
    local: Local, start: Start
) -> None:
    http = start(allow_private_destinations=False).http
    refused = http.post(WEBHOOKS, json={"url": local().url(), "event_types": ["*"]})
    error = error_of(refused, 400)
    assert error["code"] == "DESTINATION_NOT_ALLOWED"
    assert error["fields"][0]["path"] == "url"
    assert ok(http.get(WEBHOOKS))["data"] == []


def test_another_organizations_subscription_answers_404_and_members_cannot_manage_them(
    local: Local, start: Start
) -> None:
    app = start()
    webhook = subscribe(app.http, local(), "*")
    other = app.seed.tenant()
    member = app.seed.person(app.tenant.organization_id, Role.MEMBER)
    with httpx.Client(base_url=app.base_url, timeout=30) as client:
        stranger = {"Authorization": f"Bearer {other.owner.token}"}
        path = f"{WEBHOOKS}/{webhook['id']}"
        assert error_of(client.get(path, headers=stranger), 404)["code"] == "NOT_FOUND"
        assert error_of(client.delete(path, headers=stranger), 404)["code"] == "NOT_FOUND"
        assert ok(client.get(WEBHOOKS, headers=stranger))["data"] == []
        colleague = {"Authorization": f"Bearer {member.token}"}
        assert error_of(client.get(WEBHOOKS, headers=colleague), 403)["code"] == "FORBIDDEN"
    assert ok(app.http.get(path))["id"] == webhook["id"]


# --- the URL is a secret ---------------------------------------------------------------------

SECRET_PATH = "/hooks/T0KEN-in-the-path"


def test_a_subscription_url_is_kept_out_of_every_ordinary_read(local: Local, start: Start) -> None:
    app = start()
    url = local().url() + SECRET_PATH
    webhook = ok(app.http.post(WEBHOOKS, json={"url": url, "event_types": ["*"]}), 201)
    path = f"{WEBHOOKS}/{webhook['id']}"
    changed = app.http.patch(path, json={"url": url + "-2", "description": "pager"})

    reads = [ok(changed), ok(app.http.get(path)), ok(app.http.get(WEBHOOKS))]
    assert all("T0KEN" not in str(read) for read in [webhook, *reads])
    assert "url" not in webhook
    assert (reads[1]["has_url"], reads[1]["url_host"]) == (True, "127.0.0.1")
    audit_log = app.http.get("/api/v1/audit-logs", params={"resource": "webhook"})
    assert "T0KEN" not in audit_log.text
    entries = {entry["action"]: entry for entry in ok(audit_log)["data"]}
    assert entries["webhook.create"]["changes"]["url"] == {"redacted": True}
    assert entries["webhook.update"]["changes"]["url"] == {"redacted": True}
    stored = app.seed.rows("SELECT * FROM webhooks")
    assert "T0KEN" not in repr(stored)


def test_the_secrets_read_shows_the_url_and_is_audited(local: Local, start: Start) -> None:
    app = start()
    url = local().url() + SECRET_PATH
    webhook = ok(app.http.post(WEBHOOKS, json={"url": url, "event_types": ["*"]}), 201)

    secrets = ok(app.http.get(f"{WEBHOOKS}/{webhook['id']}/secrets"))

    assert secrets == {"url": url}
    audit_log = ok(app.http.get("/api/v1/audit-logs", params={"resource": "webhook"}))
    assert "webhook.secrets.read" in [entry["action"] for entry in audit_log["data"]]


def test_the_secrets_read_needs_the_secrets_scope(local: Local, start: Start) -> None:
    app = start()
    webhook = subscribe(app.http, local(), "*")
    narrow = app.seed.token_for(app.tenant.owner, app.tenant.organization_id, ["webhooks:*"])
    with httpx.Client(base_url=app.base_url, timeout=30) as client:
        answer = client.get(
            f"{WEBHOOKS}/{webhook['id']}/secrets", headers={"Authorization": f"Bearer {narrow}"}
        )
    assert error_of(answer, 403)["code"] == "TOKEN_SCOPE_INSUFFICIENT"


def test_a_sealed_url_still_receives_the_events(local: Local, start: Start) -> None:
    app = start()
    receiver = local()
    webhook = subscribe(app.http, receiver, "*")
    ok(app.http.post(f"{WEBHOOKS}/{webhook['id']}/test"))
    assert hit_of(receiver, "webhook.test")


# --- delivery -------------------------------------------------------------------------------


def test_a_subscription_receives_its_events_signed_and_no_others(
    local: Local, start: Start
) -> None:
    http = start().http
    target = local(status=200)
    incidents, heartbeats = local(), local()
    subscribe(http, incidents, "incident.*", "monitor.status_changed")
    subscribe(http, heartbeats, "heartbeat.*")
    secret = webhook_secret(http)
    monitor = create_monitor(http, "Checkout", target)
    check(http, monitor)  # up: a status change from `pending`

    target.status = 500
    check(http, monitor)
    opened = hit_of(incidents, "incident.opened")
    changed = [h for h in incidents.hits if h.event == "monitor.status_changed"]
    assert verify(secret, opened.headers["upwatch-signature"], opened.body, now=time.time())
    envelope = opened.json()
    assert envelope["type"] == "incident.opened"
    assert set(envelope) == {"id", "type", "created_at", "data"}
    assert opened.delivery != envelope["id"]  # the delivery's id, then the event's
    assert envelope["data"]["monitor_id"] == monitor["id"]
    [incident] = [i for i in ok(http.get(INCIDENTS))["data"] if i["state"] != "resolved"]
    assert envelope["data"]["incident_id"] == incident["id"]
    assert changed, events_of(incidents)
    assert changed[-1].json()["data"]["monitor_id"] == monitor["id"]

    ok(http.post(f"{INCIDENTS}/{incident['id']}/acknowledge"))
    hit_of(incidents, "incident.acknowledged")
    target.status = 200
    check(http, monitor)
    hit_of(incidents, "incident.resolved")

    # The heartbeat subscriber heard none of it; its first delivery is the heartbeat's.
    heartbeat = create_heartbeat(http, "backup")
    ping(http, heartbeat, "fail")
    [first, *_] = arrived(heartbeats, 1, "the heartbeat's status change")
    assert first.event == "heartbeat.status_changed"
    assert first.json()["data"]["to"] == "down"
    assert all(event.startswith("heartbeat.") for event in events_of(heartbeats))
    assert not any(event.startswith("heartbeat.") for event in events_of(incidents))


def test_per_ping_and_per_check_events_come_only_to_those_who_name_them(
    local: Local, start: Start
) -> None:
    http = start().http
    everything, pings = local(), local()
    subscribe(http, everything, "*")
    subscribe(http, pings, "heartbeat.pinged")
    heartbeat = create_heartbeat(http, "nightly")

    ping(http, heartbeat)
    [pinged] = arrived(pings, 1, "the heartbeat.pinged delivery")
    assert pinged.event == "heartbeat.pinged"
    ping(http, heartbeat, "fail")  # the control: status changes and an incident `*` takes
    # new → up, up → down, the incident (deliveries run concurrently: in any order)
    arrived(everything, 3, "the events of the two pings")
    arrived(pings, 2, "the second ping")
    stays_quiet([everything, pings])
    assert sorted(events_of(everything)) == [
        "heartbeat.status_changed",
        "heartbeat.status_changed",
        "incident.opened",
    ]
    assert events_of(pings) == ["heartbeat.pinged", "heartbeat.pinged"]


def test_the_test_endpoint_sends_a_signed_test_event_and_logs_the_delivery(
    local: Local, start: Start
) -> None:
    http = start().http
    receiver = local()
    webhook = subscribe(http, receiver, "incident.opened")
    secret = webhook_secret(http)

    result = ok(http.post(f"{WEBHOOKS}/{webhook['id']}/test"))
    assert result["delivered"] is True
    assert result["status_code"] == 200
    [hit] = receiver.hits
    assert hit.event == "webhook.test"
    assert verify(secret, hit.headers["upwatch-signature"], hit.body, now=time.time())
    assert hit.json()["data"]["webhook_id"] == webhook["id"]
    [logged] = ok(http.get(f"{WEBHOOKS}/{webhook['id']}/deliveries"))["data"]
    assert logged["id"] == hit.delivery
    assert logged["webhook_id"] == webhook["id"]
    assert logged["status"] == "sent"
    assert [attempt["status_code"] for attempt in logged["log"]] == [200]


def test_a_webhook_failing_too_often_is_disabled_and_other_subscribers_hear_of_it(
    local: Local, start: Start
) -> None:
    # A clock that stands still: each failed delivery waits 30 s for its retry, forever.
    http = start(clock=manual_clock(), channel_failure_limit=2).http
    broken, watcher = local(status=500), local()
    webhook = subscribe(http, broken, "heartbeat.pinged")
    subscribe(http, watcher, "webhook.disabled")
    heartbeat = create_heartbeat(http, "sync")
    path = f"{WEBHOOKS}/{webhook['id']}"

    ping(http, heartbeat)
    ping(http, heartbeat)
    [disabled] = arrived(watcher, 1, "the webhook.disabled event")
    assert disabled.json()["data"]["webhook_id"] == webhook["id"]
    shown = ok(http.get(path))
    assert shown["is_enabled"] is False
    assert "2 failed deliveries in a row" in shown["disabled_reason"]
    ping(http, heartbeat)  # a disabled subscription takes no new events
    logged = ok(http.get(f"{path}/deliveries"))["data"]
    assert len(logged) == 2
    assert all(d["log"][0]["status_code"] == 500 for d in logged)

    enabled = ok(http.patch(path, json={"is_enabled": True}))
    assert enabled["is_enabled"] is True
    assert enabled["disabled_reason"] is None
    assert enabled["consecutive_failures"] == 0
