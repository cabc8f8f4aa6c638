"""Live events over real HTTP on each backend: the Server-Sent Events stream
(`GET /api/v1/events`, filters, `Last-Event-ID` resume), the WebSocket (`/api/v1/ws`,
subscribe by type) and, with Redis, events shared between two app instances.

Every event here comes from a real check: an on-demand HTTP monitor pointed at a real
aiohttp server on loopback, run with `POST /api/v1/monitors/{id}/run`. Every read from a
stream is bounded (the client's read timeout, and a deadline). Absence is never waited
for: a stream that must not see an event is shown a later one it must see, and the first
event it reads is that later one.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import httpx
import pytest
from aiohttp import web
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tests.conftest import ApiHarness, SettingsFactory
from tests.support.accounts import Seeder, Tenant
from tests.support.server import serving
from tests.support.sse import EVENTS, READ_SECONDS, EventStream, event_stream
from upwatch.api.app import create_app
from upwatch.core.scopes import Role

# A real uvicorn server: event streams and WebSockets read while the app keeps running, by URL.
pytestmark = pytest.mark.real_server

MONITORS = "/api/v1/monitors"


# --- a real target server -------------------------------------------------------------


@contextmanager
def serving_target() -> Iterator[str]:
    """A real aiohttp server on 127.0.0.1 in a thread of its own; yields its base URL.
    `/ok` answers 200, `/status/{code}` that status."""

    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="hello upwatch")

    async def status(request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]))

    app = web.Application()
    app.router.add_get("/ok", ok)
    app.router.add_get("/status/{code}", status)
    runner = web.AppRunner(app, access_log=None)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="http-target", daemon=True)
    thread.start()

    def call(coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(READ_SECONDS)

    async def start() -> int:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        return int(runner.addresses[0][1])

    try:
        port = call(start())
        yield f"http://127.0.0.1:{port}"
    finally:
        call(runner.cleanup())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(READ_SECONDS)
        loop.close()


@pytest.fixture
def target() -> Iterator[str]:
    with serving_target() as base_url:
        yield base_url


# --- the API ---------------------------------------------------------------------------


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def create_monitor(http: httpx.Client, url: str, name: str = "Target") -> dict[str, Any]:
    """An on-demand HTTP monitor: it is checked only when the test runs it."""
    body = {
        "name": name,
        "kind": "http",
        "target": url,
        "execution_mode": "on_demand",
        "interval_seconds": 60,
        "timeout_ms": 5000,
    }
    return ok(http.post(MONITORS, json=body), 201)  # type: ignore[no-any-return]


def run(http: httpx.Client, monitor: dict[str, Any]) -> dict[str, Any]:
    return ok(http.post(f"{MONITORS}/{monitor['id']}/run"))  # type: ignore[no-any-return]


# --- Server-Sent Events ----------------------------------------------------------------


def test_a_check_streams_check_completed_then_status_changed_from_pending_to_up(
    api: ApiHarness, tenant: Tenant, http: httpx.Client, target: str
) -> None:
    monitor = create_monitor(http, f"{target}/ok")

    with event_stream(api.base_url, tenant.owner.token) as stream:
        result = run(http, monitor)
        completed = stream.next()
        changed = stream.next()

    assert completed.type == "monitor.check_completed"
    assert set(completed.envelope) == {"id", "type", "created_at", "data"}
    assert uuid.UUID(completed.envelope["id"]).version == 7
    assert completed.envelope["created_at"].endswith("Z")
    assert (completed.sse_id, completed.sse_event) == (completed.envelope["id"], completed.type)
    assert completed.data["monitor_id"] == monitor["id"]
    assert completed.data["ok"] is True
    assert completed.data["status"] == "up"
    assert completed.data["status_code"] == 200
    assert completed.data["latency_ms"] == result["check"]["latency_ms"]

    assert changed.type == "monitor.status_changed"
    assert set(changed.envelope) == {"id", "type", "created_at", "data"}
    assert (changed.sse_id, changed.sse_event) == (changed.envelope["id"], changed.type)
    assert changed.data["monitor_id"] == monitor["id"]
    assert (changed.data["from"], changed.data["to"]) == ("pending", "up")


def test_a_failing_check_streams_its_error(
    api: ApiHarness, tenant: Tenant, http: httpx.Client, target: str
) -> None:
    monitor = create_monitor(http, f"{target}/status/503")

    with event_stream(api.base_url, tenant.owner.token) as stream:
        run(http, monitor)
        completed = stream.next()

    assert completed.type == "monitor.check_completed"
    assert completed.data["monitor_id"] == monitor["id"]
    assert completed.data["ok"] is False
    assert completed.data["status_code"] == 503
    assert completed.data["error_code"]
    assert completed.data["reason"]


def test_a_type_filter_lets_through_only_the_types_asked_for(
    api: ApiHarness, tenant: Tenant, http: httpx.Client, target: str
) -> None:
    monitor = create_monitor(http, f"{target}/ok")
    wanted = ["heartbeat.*", "monitor.status_changed"]

    with event_stream(api.base_url, tenant.owner.token, wanted) as stream:
        run(http, monitor)  # check_completed is published first, then status_changed
        first = stream.next()

    assert first.type == "monitor.status_changed"
    assert first.data["monitor_id"] == monitor["id"]


def test_a_type_prefix_filter_lets_through_every_type_under_it(
    api: ApiHarness, tenant: Tenant, http: httpx.Client, target: str
) -> None:
    monitor = create_monitor(http, f"{target}/ok")

    with event_stream(api.base_url, tenant.owner.token, ["monitor.*"]) as stream:
        run(http, monitor)
        types = [stream.next().type, stream.next().type]

    assert types == ["monitor.check_completed", "monitor.status_changed"]


def test_a_monitor_filter_lets_through_only_that_monitors_events(
    api: ApiHarness, tenant: Tenant, http: httpx.Client, target: str
) -> None:
    other = create_monitor(http, f"{target}/ok", name="Other")
    watched = create_monitor(http, f"{target}/ok", name="Watched")

    with event_stream(api.base_url, tenant.owner.token, monitor_ids=[watched["id"]]) as stream:
        run(http, other)
        run(http, watched)
        first = stream.next()

    assert first.type == "monitor.check_completed"
    assert first.data["monitor_id"] == watched["id"]


def test_the_documented_types_list_and_resource_id_filter_the_stream(
    api: ApiHarness, tenant: Tenant, http: httpx.Client, target: str
) -> None:
    """docs/heartbeats.md filters with `?types=a,b` and `?resource_id=`: both are honoured."""
    other = create_monitor(http, f"{target}/ok", name="Other")
    watched = create_monitor(http, f"{target}/ok", name="Watched")
    params = {"types": "heartbeat.*,monitor.status_changed", "resource_id": watched["id"]}
    headers = {"Authorization": f"Bearer {tenant.owner.token}"}

    with (
        httpx.Client(base_url=api.base_url, timeout=READ_SECONDS) as client,
        client.stream("GET", EVENTS, params=params, headers=headers) as response,
    ):
        assert response.status_code == 200
        stream = EventStream(response)
        stream.wait_until_subscribed()
        run(http, other)
        run(http, watched)
        first = stream.next()

    assert (first.type, first.data["monitor_id"]) == ("monitor.status_changed", watched["id"])


def test_another_organizations_stream_never_sees_these_events(
    api: ApiHarness, tenant: Tenant, http: httpx.Client, target: str
) -> None:
    ours = create_monitor(http, f"{target}/ok", name="Ours")
    stranger = api.seed.tenant()
    with api.client(stranger.owner.token) as their_http:
        theirs = create_monitor(their_http, f"{target}/ok", name="Theirs")

        with event_stream(api.base_url, stranger.owner.token) as their_stream:
            run(http, ours)
            run(their_http, theirs)
            first = their_stream.next()

    assert first.data["monitor_id"] == theirs["id"]


def test_last_event_id_resumes_with_only_the_events_after_it(
    api: ApiHarness, tenant: Tenant, http: httpx.Client, target: str
) -> None:
    monitor = create_monitor(http, f"{target}/ok")
    mine = [monitor["id"]]
    with event_stream(api.base_url, tenant.owner.token, monitor_ids=mine) as stream:
        run(http, monitor)
        seen = [stream.next(), stream.next()]
    assert [event.type for event in seen] == ["monitor.check_completed", "monitor.status_changed"]

    later = [run(http, monitor)["check"]["checked_at"], run(http, monitor)["check"]["checked_at"]]
    with event_stream(
        api.base_url, tenant.owner.token, monitor_ids=mine, last_event_id=seen[-1].sse_id
    ) as resumed:
        replayed = [resumed.next(), resumed.next()]

    assert [(event.type, event.data["checked_at"]) for event in replayed] == [
        ("monitor.check_completed", checked_at) for checked_at in later
    ]
    assert not {event.sse_id for event in replayed} & {event.sse_id for event in seen}


def test_the_stream_needs_a_token_with_events_read(
    api: ApiHarness, tenant: Tenant, http: httpx.Client
) -> None:
    narrow = api.seed.token_for(tenant.owner, tenant.organization_id, ["monitors:read"])

    with api.client(narrow) as client:
        refused = client.get(EVENTS)
    with api.client() as client:
        anonymous = client.get(EVENTS)

    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "TOKEN_SCOPE_INSUFFICIENT"
    assert anonymous.status_code == 401, anonymous.text
    assert anonymous.json()["code"] == "UNAUTHENTICATED"


def test_a_token_with_only_events_read_may_stream(
    api: ApiHarness, tenant: Tenant, http: httpx.Client, target: str
) -> None:
    monitor = create_monitor(http, f"{target}/ok")
    reader = api.seed.token_for(tenant.owner, tenant.organization_id, ["events:read"])

    with event_stream(api.base_url, reader) as stream:
        run(http, monitor)
        first = stream.next()

    assert first.data["monitor_id"] == monitor["id"]


# --- WebSocket -------------------------------------------------------------------------


def ws_url(api: ApiHarness, query: str = "") -> str:
    return api.base_url.replace("http://", "ws://") + "/api/v1/ws" + query


def receive(ws: ClientConnection) -> dict[str, Any]:
    try:
        message = ws.recv(timeout=READ_SECONDS)
    except TimeoutError:
        pytest.fail(f"the WebSocket sent nothing for {READ_SECONDS} s")
    return json.loads(message)  # type: ignore[no-any-return]


def subscribe(ws: ClientConnection, types: list[str]) -> dict[str, Any]:
    ws.send(json.dumps({"type": "subscribe", "types": types}))
    return receive(ws)


def test_a_websocket_authenticated_by_header_receives_a_real_checks_events(
    api: ApiHarness, tenant: Tenant, http: httpx.Client, target: str
) -> None:
    monitor = create_monitor(http, f"{target}/ok")
    headers = {"Authorization": f"Bearer {tenant.owner.token}"}

    with connect(ws_url(api), additional_headers=headers, open_timeout=READ_SECONDS) as ws:
        subscribed = subscribe(ws, ["monitor.*"])
        run(http, monitor)
        completed, changed = receive(ws), receive(ws)

    assert subscribed["type"] == "subscribed"
    assert subscribed["types"] == ["monitor.*"]
    assert set(completed) == {"id", "type", "created_at", "data"}
    assert completed["type"] == "monitor.check_completed"
    assert completed["data"]["monitor_id"] == monitor["id"]
    assert changed["type"] == "monitor.status_changed"
    assert (changed["data"]["from"], changed["data"]["to"]) == ("pending", "up")


def test_a_websocket_authenticated_by_query_token_receives_only_subscribed_types(
    api: ApiHarness, tenant: Tenant, http: httpx.Client, target: str
) -> None:
    monitor = create_monitor(http, f"{target}/ok")

    with connect(ws_url(api, f"?token={tenant.owner.token}"), open_timeout=READ_SECONDS) as ws:
        subscribe(ws, ["monitor.status_changed"])
        run(http, monitor)
        first = receive(ws)

    assert first["type"] == "monitor.status_changed"
    assert first["data"]["monitor_id"] == monitor["id"]


def test_a_websocket_never_receives_another_organizations_events(
    api: ApiHarness, tenant: Tenant, http: httpx.Client, target: str
) -> None:
    ours = create_monitor(http, f"{target}/ok", name="Ours")
    stranger = api.seed.tenant()
    with api.client(stranger.owner.token) as their_http:
        theirs = create_monitor(their_http, f"{target}/ok", name="Theirs")
        query = f"?token={stranger.owner.token}"
        with connect(ws_url(api, query), open_timeout=READ_SECONDS) as ws:
            subscribe(ws, ["monitor.*"])
            run(http, ours)
            run(their_http, theirs)
            first = receive(ws)

    assert first["data"]["monitor_id"] == theirs["id"]


def close_code(url: str, send: str | None = None, **options: Any) -> int | str:
    """The close code the server ends the connection with (or what happened instead)."""
    try:
        with connect(url, open_timeout=READ_SECONDS, **options) as ws:
            if send is not None:
                ws.send(send)
            ws.recv(timeout=READ_SECONDS)
    except InvalidStatus as refused:
        return f"the handshake was refused with HTTP {refused.response.status_code}"
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else "closed without a close frame"
    except TimeoutError:
        return "still open"
    return "the server sent a message instead of closing"


def test_a_websocket_without_a_valid_token_is_closed_with_4401(api: ApiHarness) -> None:
    assert close_code(ws_url(api)) == 4401
    assert close_code(ws_url(api, "?token=uw_not-a-real-token")) == 4401
    bad_header = {"Authorization": "Bearer uw_" + "A" * 43}
    assert close_code(ws_url(api), additional_headers=bad_header) == 4401


def test_a_websocket_token_without_events_read_is_closed_with_4403(
    api: ApiHarness, tenant: Tenant
) -> None:
    narrow = api.seed.token_for(tenant.owner, tenant.organization_id, ["monitors:read"])

    assert close_code(ws_url(api, f"?token={narrow}")) == 4403


@pytest.mark.parametrize(
    "message",
    [
        '{"type": "hello", "types": ["monitor.*"]}',
        '{"types": ["monitor.*"]}',
        '{"type": "subscribe", "types": "monitor.*"}',
        "not json at all",
    ],
    ids=["wrong-type", "no-type", "types-not-a-list", "not-json"],
)
def test_a_bad_subscribe_message_closes_the_websocket_with_4400(
    api: ApiHarness, tenant: Tenant, message: str
) -> None:
    url = ws_url(api, f"?token={tenant.owner.token}")

    assert close_code(url, send=message) == 4400


# --- two instances sharing Redis ------------------------------------------------------


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("UPWATCH_TEST_REDIS_URL")
    if not url:
        pytest.skip("Redis tests need UPWATCH_TEST_REDIS_URL (.ci/run sets it)")
    return url


def test_with_redis_an_event_caused_on_one_instance_reaches_another_instances_stream(
    make_settings: SettingsFactory, database_url: str, redis_url: str, target: str
) -> None:
    with ExitStack() as stack:
        instances = []
        for _ in range(2):
            settings = make_settings(database_url=database_url, redis_url=redis_url)
            instances.append(stack.enter_context(serving(create_app(settings))))
        a_url, b_url = instances
        seed = Seeder(settings.effective_database_url)
        tenant = seed.tenant()
        reader = seed.person(tenant.organization_id, Role.VIEWER, ["events:read"])
        a = stack.enter_context(
            httpx.Client(base_url=a_url, headers={"Authorization": f"Bearer {tenant.owner.token}"})
        )
        monitor = create_monitor(a, f"{target}/ok")
        # Filtered on the monitor: other test runs may share this Redis.
        stream = stack.enter_context(event_stream(b_url, reader.token, monitor_ids=[monitor["id"]]))

        result = run(a, monitor)
        completed, changed = stream.next(), stream.next()

    assert completed.type == "monitor.check_completed"
    assert completed.data["monitor_id"] == monitor["id"]
    assert completed.data["checked_at"] == result["check"]["checked_at"]
    assert changed.type == "monitor.status_changed"
    assert (changed.data["from"], changed.data["to"]) == ("pending", "up")
