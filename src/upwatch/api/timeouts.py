"""408 `REQUEST_TIMEOUT` for a request body that stalls or trickles for too long.

A client that starts a body and then stops sending would otherwise hold its connection and
its request task until it went away. The wait for the headers is bounded one step earlier,
by the server's protocol (api/serving.py): the body is the first thing the app waits for.

The bound applies to the body only: once it is complete, `receive()` is left to wait for the
client's disconnect for as long as the response takes (an event stream waits hours).
"""

from __future__ import annotations

import asyncio

import orjson
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from upwatch.api.errors import error_body
from upwatch.core.errors import CATALOG, ErrorCode

# The rest of a timed-out body may still arrive: the connection cannot serve another request.
CLOSE = {"Connection": "close"}


class BodyTimedOut(HTTPException):
    """An HTTPException, so FastAPI passes it through its body parsing (which turns any other
    error into a 400) to the error handlers, which answer in the envelope."""

    def __init__(self, message: str) -> None:
        super().__init__(408, message, headers=CLOSE)


class BodyTimeoutMiddleware:
    def __init__(self, app: ASGIApp, idle_seconds: float, total_seconds: float) -> None:
        self.app = app
        self.idle_seconds = idle_seconds
        self.total_seconds = total_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + self.total_seconds
        body_complete = False
        started = False

        async def bounded_receive() -> Message:
            nonlocal body_complete
            if body_complete:
                return await receive()
            wait = min(self.idle_seconds, give_up_at - loop.time())
            try:
                async with asyncio.timeout(wait):
                    message = await receive()
            except TimeoutError:
                raise BodyTimedOut(self._message(loop.time() >= give_up_at)) from None
            body_complete = message["type"] != "http.request" or not message.get("more_body")
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, bounded_receive, watched_send)
        except BodyTimedOut as timed_out:
            # Raised where the body is read outside FastAPI (the ping fast path).
            if started:
                raise
            await send_error(send, ErrorCode.REQUEST_TIMEOUT, str(timed_out.detail))

    def _message(self, overall: bool) -> str:
        if overall:
            return f"The request body did not arrive within {self.total_seconds:g} s."
        return f"The request body stalled: nothing arrived for {self.idle_seconds:g} s."


async def send_error(
    send: Send, code: ErrorCode, message: str, headers: dict[str, str] | None = None
) -> None:
    """The error envelope straight onto the wire, for layers outside FastAPI; the connection
    is closed after it."""
    payload = orjson.dumps(error_body(code, message))
    raw_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        (b"connection", b"close"),
    ]
    raw_headers += [
        (name.lower().encode(), value.encode()) for name, value in (headers or {}).items()
    ]
    status = int(CATALOG[code].status)
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})
