"""Notification channels over real HTTP on each backend: create and validate, the SSRF guard on
destinations, secrets kept out of ordinary reads (and the audited `/secrets` read), test sends
to a real local webhook receiver, Apprise endpoint and SMTP server, signed webhooks and the
rotation of their secret, changes and deletion, and a monitor's sample alert."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.api.conftest import Serve
from tests.conftest import ApiHarness, SettingsFactory
from tests.support.accounts import Tenant
from upwatch.channels import signing
from upwatch.core.scopes import Role
from upwatch.settings import Settings

CHANNELS = "/api/v1/channels"
MONITORS = "/api/v1/monitors"
AUDIT_LOGS = "/api/v1/audit-logs"
WEBHOOK_SECRET = "/api/v1/me/webhook-secret"
REFUSING = "http://127.0.0.1:9/"  # the discard port: nothing listens, nothing is sent

# Apprise loads its plugins on first use, and one of them imports the stdlib's deprecated
# `imghdr` (Python 3.11 warns); that warning, raised in the server's thread, is not ours.
# --- a local webhook receiver -------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: httpx.Headers
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """An HTTP server on 127.0.0.1 that records every request and answers each path with the
    status set for it (200 unless told)."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.statuses: dict[str, int] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="webhook-receiver", daemon=True
        )

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path
                with receiver._lock:
                    receiver.requests.append(
                        Received(self.command, path, httpx.Headers(self.headers.items()), body)
                    )
                    status = receiver.statuses.get(path, 200)
                answer = b"received" if status < 400 else b"no such hook"
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def do_POST(self) -> None:
                self._answer()

            def do_GET(self) -> None:
                self._answer()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: the test asserts on what was recorded

        return Handler

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[Received]:
        with self._lock:
            return [request for request in self.requests if request.path == path]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    server.start()
    yield server
    server.stop()


# --- a local SMTP server ------------------------------------------------------------------


class Mailbox:
    """An aiosmtpd handler keeping every envelope it is given."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class SmtpServer:
    port: int
    mailbox: Mailbox


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield SmtpServer(port, mailbox)
    controller.stop()


# --- the API under test -------------------------------------------------------------------


@pytest.fixture
def api_settings(make_settings: SettingsFactory, database_url: str) -> Settings:
    """Private destinations allowed: the receivers of these tests are on 127.0.0.1."""
    return make_settings(database_url=database_url, allow_private_destinations=True)


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


def create(http: httpx.Client, kind: str, config: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body = {"name": f"{kind.title()} on-call", "kind": kind, "config": config, **fields}
    return ok(http.post(CHANNELS, json=body), 201)  # type: ignore[no-any-return]


def webhook(http: httpx.Client, url: str, **fields: Any) -> dict[str, Any]:
    return create(http, "webhook", {"url": url}, **fields)


def secrets_of(http: httpx.Client, channel_id: str) -> dict[str, Any]:
    return ok(http.get(f"{CHANNELS}/{channel_id}/secrets"))["config"]  # type: ignore[no-any-return]


def send_test(http: httpx.Client, channel_id: str) -> dict[str, Any]:
    return ok(http.post(f"{CHANNELS}/{channel_id}/test"))  # type: ignore[no-any-return]


def webhook_secret(http: httpx.Client) -> str:
    return ok(http.get(WEBHOOK_SECRET))["secret"]  # type: ignore[no-any-return]


def audit_actions(http: httpx.Client, resource: str) -> list[str]:
    entries = ok(http.get(AUDIT_LOGS, params={"limit": 100, "resource": resource}))["data"]
    return [entry["action"] for entry in entries]


def verifies(secret: str, request: Received) -> bool:
    return signing.verify(
        secret, request.headers["Upwatch-Signature"], request.body, now=time.time()
    )


def the_one(found: list[Received]) -> Received:
    assert len(found) == 1, found
    return found[0]


def monitor(http: httpx.Client, name: str, **fields: Any) -> dict[str, Any]:
    """An on-demand monitor (only a run checks it) whose target refuses at once."""
    body = {
        "name": name,
        "kind": "http",
        "target": "http://127.0.0.1:9/health",
        "interval_seconds": 10,
        "timeout_ms": 2000,
        "execution_mode": "on_demand",
        **fields,
    }
    return ok(http.post(MONITORS, json=body), 201)  # type: ignore[no-any-return]


# --- create, read, secrets ----------------------------------------------------------------


def test_a_webhook_channel_keeps_its_url_out_of_every_ordinary_read(
    http: httpx.Client, receiver: Receiver
) -> None:
    url = receiver.url("/hooks/secret-path-123")
    response = http.post(
        CHANNELS,
        json={"name": "Ops webhook", "kind": "webhook", "config": {"url": url}},
    )

    created = ok(response, 201)
    assert response.headers["Location"] == f"{CHANNELS}/{created['id']}"
    assert created["config"] == {}
    assert created["secrets_set"] == {"has_url": True}
    assert (created["name"], created["kind"]) == ("Ops webhook", "webhook")
    defaults = {"events": [], "min_impact": "none", "is_default": False, "is_enabled": True}
    assert {name: created[name] for name in defaults} == defaults
    assert (created["consecutive_failures"], created["disabled_reason"]) == (0, None)

    read = ok(http.get(f"{CHANNELS}/{created['id']}"))
    listed = ok(http.get(CHANNELS))["data"]
    assert read == created
    assert [channel["id"] for channel in listed] == [created["id"]]
    for shown in (response.text, http.get(f"{CHANNELS}/{created['id']}").text):
        assert "secret-path-123" not in shown
    assert "secret-path-123" not in http.get(CHANNELS).text


def test_the_secrets_endpoint_shows_the_full_config_and_is_audited(
    http: httpx.Client, receiver: Receiver
) -> None:
    url = receiver.url("/hooks/ops")
    channel = webhook(http, url)
    resource = f"channel:{channel['id']}"
    assert "channel.secrets.read" not in audit_actions(http, resource)

    assert secrets_of(http, channel["id"]) == {"url": url}

    actions = audit_actions(http, resource)
    assert actions.count("channel.secrets.read") == 1
    assert "channel.create" in actions


def test_a_channels_audit_entries_use_the_common_verbs_and_diff_shape_and_redact_secrets(
    http: httpx.Client, receiver: Receiver
) -> None:
    """One naming (`resource.create|update|delete`, like monitors and tokens) and one diff
    shape (`{"from", "to"}`) across the log; a changed secret URL reads `redacted`."""
    old_url, new_url = receiver.url("/hooks/old"), receiver.url("/hooks/new-secret-path")
    channel = webhook(http, old_url)
    ok(http.patch(f"{CHANNELS}/{channel['id']}", json={"name": "Ops", "config": {"url": new_url}}))
    ok(http.delete(f"{CHANNELS}/{channel['id']}"), 204)

    entries = ok(http.get(AUDIT_LOGS, params={"resource": f"channel:{channel['id']}"}))["data"]

    assert [e["action"] for e in entries] == ["channel.delete", "channel.update", "channel.create"]
    update = entries[1]["changes"]
    assert update["name"] == {"from": channel["name"], "to": "Ops"}
    assert update["config.url"] == {"redacted": True}
    assert all(set(change) in ({"from", "to"}, {"redacted"}) for change in update.values())
    assert entries[2]["changes"]["name"] == {"from": None, "to": channel["name"]}
    log = http.get(AUDIT_LOGS, params={"limit": 100}).text
    assert "new-secret-path" not in log
    assert "/hooks/old" not in log


def test_a_member_cannot_read_a_channels_secrets(
    api: ApiHarness, http: httpx.Client, tenant: Tenant, receiver: Receiver
) -> None:
    channel = webhook(http, receiver.url("/hooks/ops"))
    member = api.seed.person(tenant.organization_id, Role.MEMBER)

    with api.client(member.token) as as_member:
        assert ok(as_member.get(f"{CHANNELS}/{channel['id']}"))["secrets_set"] == {"has_url": True}
        response = as_member.get(f"{CHANNELS}/{channel['id']}/secrets")

    assert response.status_code == 403, response.text
    assert receiver.url("/hooks/ops") not in response.text
    assert "channel.secrets.read" not in audit_actions(http, f"channel:{channel['id']}")


def test_an_unknown_channel_is_not_found(http: httpx.Client) -> None:
    missing = f"{CHANNELS}/00000000-0000-4000-8000-000000000000"

    error(http.get(missing), 404, "NOT_FOUND")
    error(http.post(f"{missing}/test"), 404, "NOT_FOUND")
    error(http.delete(missing), 404, "NOT_FOUND")


# --- validation ---------------------------------------------------------------------------


def test_an_unknown_kind_is_refused_naming_kind(http: httpx.Client) -> None:
    response = http.post(CHANNELS, json={"name": "Pager", "kind": "carrier-pigeon", "config": {}})

    assert "kind" in field_errors(response)
    assert ok(http.get(CHANNELS))["data"] == []


def test_a_webhook_without_a_url_is_refused_naming_config_url(http: httpx.Client) -> None:
    response = http.post(CHANNELS, json={"name": "Hook", "kind": "webhook", "config": {}})

    assert list(field_errors(response)) == ["config.url"]


def test_a_malformed_telegram_bot_token_is_refused(http: httpx.Client) -> None:
    config = {"bot_token": "not-a-token", "chat_id": "-100123"}
    response = http.post(CHANNELS, json={"name": "TG", "kind": "telegram", "config": config})

    assert list(field_errors(response)) == ["config.bot_token"]


def test_an_apprise_url_apprise_does_not_understand_is_refused(http: httpx.Client) -> None:
    response = http.post(
        CHANNELS, json={"name": "Odd", "kind": "apprise", "config": {"url": "nonsense://x"}}
    )

    assert field_errors(response) == {"config.url": "unsupported_url"}


def test_a_slack_channel_needs_a_slack_incoming_webhook_url(http: httpx.Client) -> None:
    config = {"webhook_url": "https://example.com/not/slack"}
    response = http.post(CHANNELS, json={"name": "Slack", "kind": "slack", "config": config})

    assert list(field_errors(response)) == ["config.webhook_url"]
    assert ok(http.get(CHANNELS))["data"] == []


def test_a_slack_incoming_webhook_url_is_accepted_and_kept_secret(http: httpx.Client) -> None:
    url = "https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXX"
    channel = create(http, "slack", {"webhook_url": url})

    assert (channel["config"], channel["secrets_set"]) == ({}, {"has_webhook_url": True})
    assert secrets_of(http, channel["id"]) == {"webhook_url": url}


# --- the SSRF guard -----------------------------------------------------------------------


def test_private_destinations_are_refused_by_default(serve: Serve) -> None:
    api = serve()  # allow_private_destinations left at its default
    assert api.settings.allow_private_destinations is False
    tenant = api.seed.tenant()

    with api.client(tenant.owner.token) as http:
        hook = http.post(
            CHANNELS, json={"name": "Local", "kind": "webhook", "config": {"url": REFUSING}}
        )
        json_hook = http.post(
            CHANNELS,
            json={"name": "Local", "kind": "apprise", "config": {"url": "json://127.0.0.1:9/x"}},
        )
        listed = ok(http.get(CHANNELS))["data"]

    for response in (hook, json_hook):
        answer = error(response, 400, "DESTINATION_NOT_ALLOWED")
        assert answer["fields"][0]["path"] == "config.url"
    assert listed == []


@pytest.mark.parametrize(
    "template",
    [
        "hassio://127.0.0.1:{port}/token",
        "bark://localhost:{port}/device",
        "notica://127.0.0.1:{port}/t",
    ],
)
def test_an_apprise_test_send_to_loopback_is_refused_by_default(
    serve: Serve, receiver: Receiver, template: str
) -> None:
    api = serve()  # allow_private_destinations left at its default
    tenant = api.seed.tenant()
    with api.client(tenant.owner.token) as http:
        url = template.format(port=receiver.port)
        channel = create(http, "apprise", {"url": url}, name="Sneaky")
        result = send_test(http, channel["id"])

    assert (result["delivered"], result["status"]) == (False, "failed"), result
    assert "only public addresses are allowed" in result["error"]
    assert result["delivery"]["next_attempt_at"] is None
    assert receiver.requests == []


# --- test sends: signed webhooks ----------------------------------------------------------


def test_a_test_send_delivers_a_signed_webhook(http: httpx.Client, receiver: Receiver) -> None:
    channel = webhook(http, receiver.url("/hooks/ops"))

    result = send_test(http, channel["id"])

    assert (result["delivered"], result["status"], result["status_code"]) == (True, "sent", 200)
    assert result["error"] is None
    delivery = result["delivery"]
    assert (delivery["channel_id"], delivery["purpose"], delivery["event_type"]) == (
        channel["id"],
        "test",
        "channel.test",
    )
    assert (delivery["status"], delivery["attempts"], delivery["sent_at"] is not None) == (
        "sent",
        1,
        True,
    )
    (attempt,) = delivery["log"]
    assert (attempt["attempt"], attempt["outcome"], attempt["status_code"]) == (
        1,
        "delivered",
        200,
    )

    received = the_one(receiver.requests)
    assert (received.method, received.path) == ("POST", "/hooks/ops")
    assert received.headers["Upwatch-Event"] == "channel.test"
    assert received.headers["Upwatch-Delivery"] == delivery["id"]
    assert received.headers["Content-Type"] == "application/json"
    assert verifies(webhook_secret(http), received)
    envelope = received.json()
    assert (envelope["id"], envelope["type"]) == (delivery["id"], "channel.test")
    assert envelope["data"]["test"] is True
    assert envelope["data"]["title"] == f"Test of channel {channel['name']}"

    logged = ok(http.get(f"{CHANNELS}/{channel['id']}/deliveries"))["data"]
    assert logged == [delivery]


def test_a_rotated_webhook_secret_signs_the_next_send_and_the_old_one_stops(
    http: httpx.Client, receiver: Receiver
) -> None:
    channel = webhook(http, receiver.url("/hooks/ops"))
    old = webhook_secret(http)
    assert old.startswith(signing.SECRET_PREFIX)
    assert send_test(http, channel["id"])["delivered"]
    assert verifies(old, the_one(receiver.requests))

    new = ok(http.post(f"{WEBHOOK_SECRET}/rotate"))["secret"]
    assert new != old
    assert webhook_secret(http) == new
    assert send_test(http, channel["id"])["delivered"]

    first, second = receiver.requests
    assert verifies(new, second)
    assert not verifies(old, second)
    assert not verifies(new, first)


def test_a_receiver_answering_404_fails_the_test_send_at_once(
    http: httpx.Client, receiver: Receiver
) -> None:
    receiver.statuses["/hooks/gone"] = 404
    channel = webhook(http, receiver.url("/hooks/gone"))

    result = send_test(http, channel["id"])

    assert (result["delivered"], result["status"], result["status_code"]) == (
        False,
        "failed",
        404,
    )
    assert "404" in result["error"]
    assert result["delivery"]["next_attempt_at"] is None  # a test is tried once
    (attempt,) = result["delivery"]["log"]
    assert (attempt["outcome"], attempt["status_code"]) == ("failed", 404)
    assert len(receiver.at("/hooks/gone")) == 1
    # A test send is no real failure: the channel's counter stays as it was.
    assert ok(http.get(f"{CHANNELS}/{channel['id']}"))["consecutive_failures"] == 0


# --- test sends: Apprise and email --------------------------------------------------------


def test_an_apprise_json_channel_delivers_the_test_message(
    http: httpx.Client, receiver: Receiver
) -> None:
    port = receiver.port
    channel = create(http, "apprise", {"url": f"json://127.0.0.1:{port}/hook"}, name="JSON")

    result = send_test(http, channel["id"])

    assert (result["delivered"], result["status"]) == (True, "sent"), result
    received = the_one(receiver.requests)
    assert (received.method, received.path) == ("POST", "/hook")
    body = received.json()
    assert "Test of channel JSON" in body["title"]
    assert body["message"]


def test_an_email_channel_sends_the_test_message_through_the_smtp_server(
    serve: Serve, smtp_server: SmtpServer
) -> None:
    api = serve(smtp_host="127.0.0.1", smtp_port=smtp_server.port, smtp_security="none")
    tenant = api.seed.tenant()

    with api.client(tenant.owner.token) as http:
        channel = create(http, "email", {"to": ["ops@example.com"]}, name="Ops mail")
        assert (channel["config"], channel["secrets_set"]) == ({"to": ["ops@example.com"]}, {})
        result = send_test(http, channel["id"])

    assert (result["delivered"], result["status"]) == (True, "sent"), result
    (envelope,) = smtp_server.mailbox.envelopes
    assert envelope.rcpt_tos == ["ops@example.com"]
    assert isinstance(envelope.content, bytes)
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert "Test of channel Ops mail" in str(message["Subject"])
    assert message["To"] == "ops@example.com"


def test_an_email_channel_without_an_smtp_server_fails_permanently(http: httpx.Client) -> None:
    channel = create(http, "email", {"to": ["ops@example.com"]})

    result = send_test(http, channel["id"])

    assert (result["delivered"], result["status"]) == (False, "failed")
    assert "not configured" in result["error"]


# --- change and delete --------------------------------------------------------------------


def test_routing_settings_can_be_changed_and_are_audited(
    http: httpx.Client, receiver: Receiver
) -> None:
    channel = webhook(http, receiver.url("/hooks/ops"))
    url = f"{CHANNELS}/{channel['id']}"

    changed = ok(
        http.patch(url, json={"min_impact": "major", "events": ["down", "up"], "is_default": True})
    )

    assert (changed["min_impact"], changed["events"], changed["is_default"]) == (
        "major",
        ["down", "up"],
        True,
    )
    assert ok(http.get(url)) == changed
    assert secrets_of(http, channel["id"]) == {"url": receiver.url("/hooks/ops")}
    assert "channel.update" in audit_actions(http, f"channel:{channel['id']}")
    bad = http.patch(url, json={"min_impact": "apocalyptic"})
    assert "min_impact" in field_errors(bad)
    assert ok(http.get(url))["min_impact"] == "major"


def test_a_new_apprise_url_replaces_the_secret_and_leaving_it_out_keeps_it(
    http: httpx.Client, receiver: Receiver
) -> None:
    channel = create(http, "apprise", {"url": f"json://127.0.0.1:{receiver.port}/old"})
    url = f"{CHANNELS}/{channel['id']}"

    changed = ok(http.patch(url, json={"config": {"url": f"json://127.0.0.1:{receiver.port}/new"}}))
    assert changed["secrets_set"] == {"has_url": True}
    assert secrets_of(http, channel["id"]) == {"url": f"json://127.0.0.1:{receiver.port}/new"}

    ok(http.patch(url, json={"config": {}}))  # secret fields left out keep their value
    assert secrets_of(http, channel["id"]) == {"url": f"json://127.0.0.1:{receiver.port}/new"}

    assert send_test(http, channel["id"])["delivered"]
    assert [request.path for request in receiver.requests] == ["/new"]

    refused = http.patch(url, json={"config": {"url": "nonsense://x"}})
    assert field_errors(refused) == {"config.url": "unsupported_url"}
    assert secrets_of(http, channel["id"]) == {"url": f"json://127.0.0.1:{receiver.port}/new"}


def test_a_config_change_merges_into_the_stored_config_keeping_what_it_does_not_mention(
    http: httpx.Client, receiver: Receiver
) -> None:
    """A PATCH of one field (a rotated ntfy token) must not wipe the topic, server and
    priority; `null` removes an optional field (JSON merge patch)."""
    server = f"http://127.0.0.1:{receiver.port}/"
    config = {"topic": "ops", "server": server, "token": "tk_old", "priority": "high"}
    channel = create(http, "ntfy", config)
    url = f"{CHANNELS}/{channel['id']}"

    changed = ok(http.patch(url, json={"config": {"token": "tk_new"}}))

    assert changed["config"] == {"topic": "ops", "server": server, "priority": "high"}
    assert secrets_of(http, channel["id"]) == {**config, "token": "tk_new"}
    ok(http.patch(url, json={"config": {"token": None, "priority": "low"}}))
    assert secrets_of(http, channel["id"]) == {"topic": "ops", "server": server, "priority": "low"}


def test_a_disabled_channel_still_takes_test_sends(http: httpx.Client, receiver: Receiver) -> None:
    channel = webhook(http, receiver.url("/hooks/ops"))

    disabled = ok(http.patch(f"{CHANNELS}/{channel['id']}", json={"is_enabled": False}))
    assert disabled["is_enabled"] is False

    result = send_test(http, channel["id"])
    assert (result["delivered"], result["status"]) == (True, "sent")
    assert len(receiver.at("/hooks/ops")) == 1


def test_a_deleted_channel_is_gone(http: httpx.Client, receiver: Receiver) -> None:
    channel = webhook(http, receiver.url("/hooks/ops"))
    url = f"{CHANNELS}/{channel['id']}"

    assert ok(http.delete(url), 204) is None

    error(http.get(url), 404, "NOT_FOUND")
    error(http.get(f"{url}/secrets"), 404, "NOT_FOUND")
    assert ok(http.get(CHANNELS))["data"] == []
    assert "channel.delete" in audit_actions(http, f"channel:{channel['id']}")


# --- a monitor's channels and its sample alert --------------------------------------------


def test_a_monitors_test_alert_goes_to_the_default_channels_only(
    http: httpx.Client, receiver: Receiver
) -> None:
    default = webhook(http, receiver.url("/hooks/default"), is_default=True)
    webhook(http, receiver.url("/hooks/other"))  # neither default nor chosen
    checkout = monitor(http, "Checkout API")

    results = ok(http.post(f"{MONITORS}/{checkout['id']}/test-alert"))["data"]

    (result,) = results
    assert (result["delivered"], result["status"]) == (True, "sent")
    assert result["delivery"]["channel_id"] == default["id"]
    assert receiver.at("/hooks/other") == []
    received = the_one(receiver.at("/hooks/default"))
    assert received.method == "POST"
    assert received.headers["Upwatch-Delivery"] == result["delivery"]["id"]
    assert verifies(webhook_secret(http), received)
    data = received.json()["data"]
    assert (data["event_type"], data["kind"], data["test"]) == ("monitor.down", "down", True)
    assert data["subject"]["name"] == "Checkout API"
    assert data["subject"]["id"] == checkout["id"]
    assert data["title"] == "Checkout API is down (test alert)"


def test_a_monitors_test_alert_also_goes_to_the_channels_it_chose(
    http: httpx.Client, receiver: Receiver
) -> None:
    default = webhook(http, receiver.url("/hooks/default"), is_default=True)
    other = webhook(http, receiver.url("/hooks/other"))
    checkout = monitor(http, "Checkout API")
    assert checkout["channel_ids"] == []

    changed = ok(http.patch(f"{MONITORS}/{checkout['id']}", json={"channel_ids": [other["id"]]}))
    assert changed["channel_ids"] == [other["id"]]
    assert ok(http.get(f"{MONITORS}/{checkout['id']}"))["channel_ids"] == [other["id"]]

    results = ok(http.post(f"{MONITORS}/{checkout['id']}/test-alert"))["data"]

    assert sorted(item["delivery"]["channel_id"] for item in results) == sorted(
        [default["id"], other["id"]]
    )
    assert all(item["delivered"] for item in results)
    for path in ("/hooks/default", "/hooks/other"):
        data = the_one(receiver.at(path)).json()["data"]
        assert (data["event_type"], data["subject"]["name"]) == ("monitor.down", "Checkout API")


def test_a_monitors_test_alert_is_typed_as_the_alert_it_imitates(
    http: httpx.Client, receiver: Receiver
) -> None:
    webhook(http, receiver.url("/hooks/default"), is_default=True)
    checkout = monitor(http, "Checkout API")

    (result,) = ok(http.post(f"{MONITORS}/{checkout['id']}/test-alert"))["data"]

    assert result["delivered"]
    received = the_one(receiver.at("/hooks/default"))
    assert received.json()["data"]["event_type"] == "monitor.down"  # the payload is right
    assert received.headers["Upwatch-Event"] == "monitor.down"
    assert received.json()["type"] == "monitor.down"


def test_a_monitors_test_alert_skips_disabled_channels(
    http: httpx.Client, receiver: Receiver
) -> None:
    channel = webhook(http, receiver.url("/hooks/default"), is_default=True)
    ok(http.patch(f"{CHANNELS}/{channel['id']}", json={"is_enabled": False}))
    checkout = monitor(http, "Checkout API")

    assert ok(http.post(f"{MONITORS}/{checkout['id']}/test-alert"))["data"] == []
    assert receiver.requests == []


def test_a_monitor_cannot_choose_an_unknown_channel(http: httpx.Client, receiver: Receiver) -> None:
    known = webhook(http, receiver.url("/hooks/ops"))
    unknown = "00000000-0000-4000-8000-000000000000"

    created = http.post(
        MONITORS,
        json={
            "name": "Checkout API",
            "kind": "http",
            "target": "http://127.0.0.1:9/health",
            "execution_mode": "on_demand",
            "channel_ids": [unknown],
        },
    )
    assert field_errors(created) == {"channel_ids[0]": "not_found"}

    checkout = monitor(http, "Checkout API")
    changed = http.patch(
        f"{MONITORS}/{checkout['id']}", json={"channel_ids": [known["id"], unknown]}
    )
    assert field_errors(changed) == {"channel_ids[1]": "not_found"}
    assert ok(http.get(f"{MONITORS}/{checkout['id']}"))["channel_ids"] == []


def test_a_channel_of_another_organization_cannot_be_chosen(
    api: ApiHarness, http: httpx.Client, receiver: Receiver
) -> None:
    other = api.seed.tenant()
    with api.client(other.owner.token) as theirs:
        foreign = webhook(theirs, receiver.url("/hooks/theirs"))
        error(http.get(f"{CHANNELS}/{foreign['id']}"), 404, "NOT_FOUND")
        error(http.get(f"{CHANNELS}/{foreign['id']}/secrets"), 404, "NOT_FOUND")
        error(http.post(f"{CHANNELS}/{foreign['id']}/test"), 404, "NOT_FOUND")

    checkout = monitor(http, "Checkout API")
    changed = http.patch(f"{MONITORS}/{checkout['id']}", json={"channel_ids": [foreign["id"]]})

    assert field_errors(changed) == {"channel_ids[0]": "not_found"}
    assert receiver.requests == []
