"""Live events: `GET /api/v1/events` (Server-Sent Events, `Last-Event-ID` resume) and
`GET /api/v1/ws` (WebSocket, subscribe by type)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Annotated

import orjson
from fastapi import APIRouter, Header, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.types import Receive, Scope, Send

from upwatch.accounts import tokens
from upwatch.api.auth import require
from upwatch.api.deps import State
from upwatch.api.state import AppState
from upwatch.core.errors import AppError
from upwatch.core.principal import Principal
from upwatch.events import Event
from upwatch.events.bus import Filter, Subscription
from upwatch.events.streams import RETRY_AFTER_SECONDS, StreamLease

router = APIRouter(prefix="/api/v1", tags=["events"])
KEEPALIVE_SECONDS = 15.0
SCOPE = "events:read"
TOO_MANY_STREAMS_CLOSE_CODE = 4429  # 4000 + the HTTP status, like 4401 and 4403
TypesParam = Annotated[
    list[str], Query(alias="type", description="Repeat; `monitor.*` matches a prefix")
]
MonitorsParam = Annotated[list[str], Query(alias="monitor_id", description="Repeat")]
# The same filters as a comma-separated list (`?types=heartbeat.*,monitor.status_changed`)
# and for any resource (`?resource_id=<heartbeat id>`), as docs/heartbeats.md shows them.
TypeListParam = Annotated[
    str | None, Query(alias="types", description="Comma-separated; `monitor.*` matches a prefix")
]
ResourcesParam = Annotated[
    list[str], Query(alias="resource_id", description="Repeat: a monitor's or heartbeat's id")
]


def _sse(event: Event) -> bytes:
    payload = orjson.dumps(event.envelope()).decode()
    return f"id: {event.id}\nevent: {event.type}\ndata: {payload}\n\n".encode()


async def _stream(
    request: Request, state: AppState, where: Filter, last_event_id: str | None
) -> AsyncIterator[bytes]:
    subscription = state.bus.subscribe(where)
    try:
        yield b"retry: 3000\n\n"
        if last_event_id:
            for event in state.bus.since(where, last_event_id):
                yield _sse(event)
        while not subscription.overflowed and not await request.is_disconnected():
            arrived = await subscription.next(KEEPALIVE_SECONDS)
            yield _sse(arrived) if arrived is not None else b": keep-alive\n\n"
    finally:
        state.bus.unsubscribe(subscription)


class _LeasedStream(StreamingResponse):
    """A stream that gives its lease back however it ends: the client went away, the
    server is stopping, sending failed, or it never started (a generator that was never
    iterated never runs its `finally`)."""

    def __init__(self, lease: StreamLease, content: AsyncIterator[bytes]) -> None:
        super().__init__(
            content,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        self.lease = lease

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.lease.release()


@router.get(
    "/events",
    summary="Server-Sent Events of your organization (resume with Last-Event-ID)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream_events(
    request: Request,
    principal: Annotated[Principal, require(SCOPE)],
    state: State,
    types: TypesParam = [],  # noqa: B006
    monitor_ids: MonitorsParam = [],  # noqa: B006
    type_list: TypeListParam = None,
    resource_ids: ResourcesParam = [],  # noqa: B006
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    listed = [kind.strip() for kind in (type_list or "").split(",") if kind.strip()]
    where = Filter(principal.organization_id, (*types, *listed), (*monitor_ids, *resource_ids))
    lease = state.streams.acquire(principal.rate_limit_key, principal.organization_id)
    return _LeasedStream(lease, _stream(request, state, where, last_event_id))


class Subscribe(BaseModel):
    type: str = Field(pattern="^subscribe$")
    types: list[str] = []
    monitor_ids: list[str] = []


async def _ws_principal(websocket: WebSocket, state: AppState) -> Principal | int:
    """The principal, or the close code to refuse with (4401 no valid token, 4403 scope)."""
    header = websocket.headers.get("authorization", "")
    token = header.removeprefix("Bearer ").strip() or websocket.query_params.get("token", "")
    token = token or websocket.headers.get("x-api-key", "")
    try:
        async with state.database.session() as session:
            principal = await tokens.principal_for_token(session, token, state.clock.now())
    except AppError:
        return 4401
    if principal.token_grants(SCOPE) and principal.role_grants(SCOPE):
        return principal
    return 4403


@router.websocket("/ws")
async def websocket_events(websocket: WebSocket) -> None:
    """Authenticate with `Authorization: Bearer`, `X-Api-Key` or `?token=` (browsers); then
    send `{"type": "subscribe", "types": [...], "monitor_ids": [...]}`. Closes with 4401
    (no valid token), 4403 (no events:read) or 4429 (too many streams open)."""
    state: AppState = websocket.app.state.upwatch
    principal = await _ws_principal(websocket, state)
    # Accept first: a close before the handshake completes reaches clients as a bare 403.
    await websocket.accept()
    if isinstance(principal, int):
        await websocket.close(code=principal, reason="a token with events:read is required")
        return
    try:
        lease = state.streams.acquire(principal.rate_limit_key, principal.organization_id)
    except AppError as refused:
        reason = f"{refused.code}: retry after {RETRY_AFTER_SECONDS} s"
        await websocket.close(code=TOO_MANY_STREAMS_CLOSE_CODE, reason=reason)
        return
    subscription: Subscription | None = None
    try:
        request = Subscribe.model_validate(orjson.loads(await websocket.receive_text()))
        where = Filter(principal.organization_id, tuple(request.types), tuple(request.monitor_ids))
        subscription = state.bus.subscribe(where)
        await websocket.send_text(
            orjson.dumps({"type": "subscribed", "types": request.types}).decode()
        )
        await _pump(websocket, subscription)
    except (ValidationError, orjson.JSONDecodeError):
        await websocket.close(code=4400, reason='send {"type": "subscribe", "types": [...]}')
    except WebSocketDisconnect:
        pass
    finally:
        lease.release()
        if subscription is not None:
            state.bus.unsubscribe(subscription)


async def _pump(websocket: WebSocket, subscription: Subscription) -> None:
    """Forward events until the client goes away (a receive that ends it)."""
    closed = asyncio.create_task(websocket.receive_text())
    try:
        while not subscription.overflowed and not closed.done():
            arrived = await subscription.next(1.0)
            if arrived is not None:
                await websocket.send_text(orjson.dumps(arrived.envelope()).decode())
    finally:
        closed.cancel()
        with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
            await closed
