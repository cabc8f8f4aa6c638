"""Caps on live event streams over real HTTP on each backend: per token, per organization
and per server, for `GET /api/v1/events` (429 `TOO_MANY_STREAMS` with `Retry-After`) and
`/api/v1/ws` (closed with 4429); and every way a stream ends gives its place back.

Small caps are set for each test. Every wait is bounded: a stream that must be admitted
again is retried until it is, for at most the usual wait.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.conftest import SettingsFactory
from tests.support.accounts import Seeder, Tenant
from tests.support.alerting import eventually
from tests.support.server import serving
from tests.support.sse import EVENTS, READ_SECONDS, event_stream
from upwatch.api.app import create_app
from upwatch.api.state import AppState
from upwatch.core.scopes import Role


class Served:
    """The app of one test (its state is looked at to see places given back) and its URL."""

    def __init__(self, app: FastAPI, base_url: str, seed: Seeder) -> None:
        self.app = app
        self.base_url = base_url
        self.seed = seed

    @property
    def state(self) -> AppState:
        state: AppState = self.app.state.upwatch
        return state


Serve = Callable[..., Served]


@pytest.fixture
def serve_capped(make_settings: SettingsFactory, database_url: str) -> Iterator[Serve]:
    with ExitStack() as stack:

        def start(**caps: Any) -> Served:
            settings = make_settings(database_url=database_url, **caps)
            app = create_app(settings)
            base_url = stack.enter_context(serving(app))
            return Served(app, base_url, Seeder(settings.effective_database_url))

        yield start


def refusal(base_url: str, token: str) -> httpx.Response | None:
    """The answer to a new stream if it is refused; None if it was admitted (then closed)."""
    headers = {"Authorization": f"Bearer {token}"}
    with (
        httpx.Client(base_url=base_url, timeout=READ_SECONDS) as client,
        client.stream("GET", EVENTS, headers=headers) as response,
    ):
        if response.status_code == 200:
            return None
        response.read()
        return response


def admitted_again(base_url: str, token: str) -> bool:
    return refusal(base_url, token) is None


def assert_too_many_streams(response: httpx.Response | None) -> None:
    assert response is not None, "the stream was admitted"
    assert response.status_code == 429, response.text
    assert response.json()["code"] == "TOO_MANY_STREAMS"
    assert int(response.headers["Retry-After"]) > 0


def test_a_tokens_stream_beyond_its_cap_is_429_while_another_token_still_streams(
    serve_capped: Serve,
) -> None:
    served = serve_capped(streams_per_token=2)
    tenant = served.seed.tenant()
    colleague = served.seed.person(tenant.organization_id, Role.MEMBER)

    with event_stream(served, tenant.owner.token), event_stream(served, tenant.owner.token):
        refused = refusal(served.base_url, tenant.owner.token)
        with event_stream(served, colleague.token):
            pass

    assert_too_many_streams(refused)
    assert refused is not None
    assert "token" in refused.json()["error"]


def test_closing_a_stream_lets_the_same_token_open_a_new_one(serve_capped: Serve) -> None:
    served = serve_capped(streams_per_token=1)
    token = served.seed.tenant().owner.token

    with event_stream(served, token):
        assert_too_many_streams(refusal(served.base_url, token))

    eventually(lambda: admitted_again(served.base_url, token), "a new stream after closing one")


def test_an_organizations_streams_are_capped_and_another_organization_is_unaffected(
    serve_capped: Serve,
) -> None:
    served = serve_capped(streams_per_organization=2)
    tenant = served.seed.tenant()
    people = [served.seed.person(tenant.organization_id, Role.VIEWER) for _ in range(3)]
    stranger = served.seed.tenant()

    with event_stream(served, people[0].token), event_stream(served, people[1].token):
        refused = refusal(served.base_url, people[2].token)
        with event_stream(served, stranger.owner.token):
            pass

    assert_too_many_streams(refused)


def test_the_server_refuses_streams_beyond_its_own_cap_whoever_asks(serve_capped: Serve) -> None:
    served = serve_capped(max_streams=1)
    first, second = served.seed.tenant(), served.seed.tenant()

    with event_stream(served, first.owner.token):
        assert_too_many_streams(refusal(served.base_url, second.owner.token))


def ws_close_code(served: Served, tenant: Tenant) -> int | str:
    url = served.base_url.replace("http://", "ws://") + f"/api/v1/ws?token={tenant.owner.token}"
    try:
        with connect(url, open_timeout=READ_SECONDS) as ws:
            ws.recv(timeout=READ_SECONDS)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else "closed without a close frame"
    except TimeoutError:
        return "still open"
    return "the server sent a message instead of closing"


def test_a_websocket_beyond_the_tokens_cap_is_closed_with_4429_and_counts_with_sse(
    serve_capped: Serve,
) -> None:
    served = serve_capped(streams_per_token=1)
    tenant = served.seed.tenant()

    with event_stream(served, tenant.owner.token):
        refused = ws_close_code(served, tenant)

    assert refused == 4429
    # The SSE stream's place is back: a WebSocket is admitted (and waits for its subscribe).
    eventually(lambda: ws_close_code(served, tenant) == "still open", "a WebSocket after SSE")


def test_streams_dropped_by_their_clients_give_every_place_back(serve_capped: Serve) -> None:
    served = serve_capped(streams_per_token=3)
    token = served.seed.tenant().owner.token

    with ExitStack() as streams:
        for _ in range(3):
            streams.enter_context(event_stream(served, token))
        assert served.state.streams.open_streams == 3
        assert served.state.bus.subscriber_count == 3

    eventually(lambda: served.state.streams.open_streams == 0, "every place given back")
    eventually(lambda: served.state.bus.subscriber_count == 0, "every subscriber removed")
    with ExitStack() as streams:
        for _ in range(3):
            streams.enter_context(event_stream(served, token))


def test_streams_still_open_when_the_server_stops_give_their_places_back(
    make_settings: SettingsFactory, database_url: str
) -> None:
    settings = make_settings(database_url=database_url)
    app = create_app(settings)
    state: AppState = app.state.upwatch
    with ExitStack() as stack:
        server = ExitStack()
        served = Served(app, server.enter_context(serving(app)), Seeder(database_url))
        token = served.seed.tenant().owner.token
        stack.enter_context(event_stream(served, token))
        assert state.streams.open_streams == 1
        server.close()  # the server stops while the stream is open

        assert state.streams.open_streams == 0
        assert state.bus.subscriber_count == 0


def test_a_websocket_closed_for_a_bad_subscribe_message_gives_its_place_back(
    serve_capped: Serve,
) -> None:
    served = serve_capped(streams_per_token=1)
    tenant = served.seed.tenant()
    url = served.base_url.replace("http://", "ws://") + f"/api/v1/ws?token={tenant.owner.token}"

    with connect(url, open_timeout=READ_SECONDS) as ws:
        ws.send("not json at all")
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=READ_SECONDS)

    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4400
    eventually(lambda: admitted_again(served.base_url, tenant.owner.token), "a stream after it")
    eventually(lambda: served.state.bus.subscriber_count == 0, "every subscriber removed")
