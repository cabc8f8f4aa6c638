"""`gotify` channels deliver to a Gotify server, against a stand-in of one on 127.0.0.1: it
answers `POST <path>/message` like Gotify (200 for its application token, 401 otherwise)
and records what it was sent."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic import ValidationError

from tests.conftest import ApiHarness, SettingsFactory
from upwatch.channels.base import attempt
from upwatch.channels.registry import NOTIFIERS
from upwatch.channels.render import Message
from upwatch.settings import Settings

TOKEN = "AvKkZ3LrxN.mOoJ"
MESSAGE = Message(subject="Shop is down", text="down", markdown="**down**", html="<b>down</b>")
REFUSED = "only public addresses are allowed"


@dataclass(frozen=True)
class Pushed:
    path: str
    key: str | None
    body: dict[str, Any]


class GotifyServer:
    """Gotify's message endpoint under `/gotify/`, as a reverse proxy would serve it."""

    def __init__(self) -> None:
        self.pushed: list[Pushed] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.pushed.append(Pushed(self.path, self.headers.get("X-Gotify-Key"), body))
                known = self.path == "/gotify/message"
                status = (
                    404 if not known else 200 if self.headers.get("X-Gotify-Key") == TOKEN else 401
                )
                answer = json.dumps({"id": 1} if status == 200 else {"error": "Unauthorized"})
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer.encode())

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the test asserts on what was recorded

        return Handler

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/gotify/"

    def __enter__(self) -> GotifyServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


@pytest.fixture
def gotify() -> Iterator[GotifyServer]:
    with GotifyServer() as server:
        yield server


@pytest.fixture
def api_settings(make_settings: SettingsFactory, database_url: str) -> Settings:
    """Private destinations allowed: the Gotify stand-in is on 127.0.0.1."""
    return make_settings(database_url=database_url, allow_private_destinations=True)


def test_a_gotify_channel_keeps_its_token_secret_and_delivers_the_test_message(
    api: ApiHarness, gotify: GotifyServer
) -> None:
    tenant = api.seed.tenant()
    with api.client(tenant.owner.token) as http:
        config = {"server": gotify.url, "token": TOKEN, "priority": "high"}
        created = http.post(
            "/api/v1/channels", json={"name": "Phone", "kind": "gotify", "config": config}
        )
        assert created.status_code == 201, created.text
        channel = created.json()
        assert channel["config"] == {"server": gotify.url, "priority": "high"}
        assert channel["secrets_set"] == {"has_token": True}

        result = http.post(f"/api/v1/channels/{channel['id']}/test")

    assert result.status_code == 200, result.text
    assert result.json()["delivered"] is True, result.json()
    [pushed] = gotify.pushed
    assert (pushed.path, pushed.key) == ("/gotify/message", TOKEN)
    assert pushed.body["title"] == "[Upwatch test] ✅ Test of channel Phone"
    assert "the channel works" in pushed.body["message"]
    assert pushed.body["priority"] == 8  # Gotify's "high"
    assert pushed.body["extras"]["client::display"]["contentType"] == "text/markdown"


async def test_a_token_the_server_refuses_is_not_delivered_and_the_error_says_why(
    make_settings: SettingsFactory, gotify: GotifyServer
) -> None:
    notifier = NOTIFIERS["gotify"]
    config = {"server": gotify.url, "token": "not-the-token", "priority": "normal"}
    settings = make_settings(allow_private_destinations=True)

    delivery = await attempt(lambda: notifier.send(config, MESSAGE, settings))

    assert delivery.ok is False
    assert delivery.error is not None
    assert "401" in delivery.error
    assert [pushed.key for pushed in gotify.pushed] == ["not-the-token"]


async def test_a_server_on_loopback_is_refused_when_only_public_destinations_are_allowed(
    make_settings: SettingsFactory, gotify: GotifyServer
) -> None:
    notifier = NOTIFIERS["gotify"]
    config = notifier.config_model.model_validate({"server": gotify.url, "token": TOKEN})
    checked = config.model_dump(mode="json")

    # Saving checks this host with the SSRF guard, reported on `config.server` ...
    assert notifier.check(checked) == "127.0.0.1"
    assert notifier.destination_field == "server"
    # ... and every send is guarded again, whatever address the name resolves to.
    delivery = await attempt(lambda: notifier.send(checked, MESSAGE, make_settings()))

    assert (delivery.ok, delivery.permanent) == (False, True)
    assert delivery.error is not None
    assert REFUSED in delivery.error
    assert gotify.pushed == []


def test_a_malformed_token_is_refused_by_the_config_schema() -> None:
    with pytest.raises(ValidationError, match="token"):
        NOTIFIERS["gotify"].config_model.model_validate(
            {"server": "https://push.example.com", "token": "has spaces"}
        )
