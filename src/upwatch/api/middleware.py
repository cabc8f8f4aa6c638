"""Pure ASGI middleware (no BaseHTTPMiddleware: it buffers and breaks streaming responses).

`RequestContextMiddleware` is the outermost layer: it owns the request id, the access log
line, the HTTP metrics and the last-resort answer, so even a crash answers in our envelope
with the request id: 503 `SERVICE_UNAVAILABLE` with `Retry-After` when the database is
unreachable (every route at once, none needs its own handling), else 500 `INTERNAL`.
`BodySizeLimitMiddleware` refuses oversized bodies with 413.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import orjson
import structlog
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from upwatch.api.errors import RETRY_AFTER_SECONDS, error_body
from upwatch.api.metrics import UNMATCHED_ROUTE, HttpMetrics
from upwatch.core.errors import CATALOG, ErrorCode
from upwatch.db.outages import is_unavailable
from upwatch.logs import RequestLog, get_logger

REQUEST_ID_HEADER = b"x-request-id"
# A client-supplied id is echoed only if it is short and plain; otherwise we mint our own,
# so a hostile header cannot inject into logs.
_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

log = get_logger("upwatch.http")
request_log = RequestLog("upwatch.http")


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER:
            candidate: str = value.decode("latin-1")
            if _CLIENT_REQUEST_ID.match(candidate):
                return candidate
            break
    return uuid.uuid4().hex


def _add_extra_headers(headers: list[tuple[bytes, bytes]], extra: dict[str, str]) -> None:
    """Headers the request's handling asked for (rate limits, quotas), unless already set."""
    present = {name.lower() for name, _ in headers}
    for name, value in extra.items():
        if name.lower().encode("latin-1") not in present:
            headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


# Paths that carry a credential (a heartbeat's ping token, an organization's ping key) are
# logged as their route template, never as sent. Ping tokens are UUIDv4 (our ids are v7), so
# one pasted into another URL by mistake is masked too.
PING_PREFIX = "/ping/"
UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", re.I)


def _loggable_path(scope: Scope) -> str:
    path: str = scope["path"]
    if path.startswith(PING_PREFIX):
        return _route_template(scope) if scope.get("route") else PING_PREFIX + "{redacted}"
    return UUID4.sub("{uuid4}", path)


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER, request_id.encode("latin-1")))
                _add_extra_headers(headers, scope.get("state", {}).get("extra_headers", {}))
                message = {**message, "headers": headers}
            await send(message)

        began = time.perf_counter()
        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            except Exception as exc:
                unavailable = is_unavailable(exc)
                _log_failure(scope, exc, unavailable=unavailable)
                if not started:
                    await _send_failure(send_with_id, request_id, unavailable=unavailable)
            elapsed = time.perf_counter() - began
            route = _route_template(scope)
            self.metrics.observe(scope["method"], route, status, elapsed)
            request_log.info(
                "request",
                method=scope["method"],
                path=_loggable_path(scope),
                route=route,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
            )


def _log_failure(scope: Scope, exc: Exception, *, unavailable: bool) -> None:
    path = _loggable_path(scope)
    if unavailable:  # an outage, not a bug: one line, no traceback per request
        log.warning("request.database_unavailable", method=scope["method"], path=path,
                    error=type(exc).__name__)  # fmt: skip
    else:
        log.exception("request.crashed", method=scope["method"], path=path)


async def _send_failure(send: Send, request_id: str, *, unavailable: bool) -> None:
    code = ErrorCode.SERVICE_UNAVAILABLE if unavailable else ErrorCode.INTERNAL
    body = error_body(code, CATALOG[code].message)
    body["request_id"] = request_id
    payload = orjson.dumps(body)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
    ]
    if unavailable:
        headers.append((b"retry-after", str(RETRY_AFTER_SECONDS).encode()))
    await send({"type": "http.response.start", "status": int(CATALOG[code].status),
                "headers": headers})  # fmt: skip
    await send({"type": "http.response.body", "body": payload})


class BodySizeLimitMiddleware:
    """413 for bodies over the limit: declared (`Content-Length`) or streamed (chunked)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _send_too_large(send, self.max_bytes)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, _too_large_message(self.max_bytes))
            return message

        await self.app(scope, counting_receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _too_large_message(max_bytes: int) -> str:
    return f"The request body is larger than {max_bytes} bytes."


async def _send_too_large(send: Send, max_bytes: int) -> None:
    payload = orjson.dumps(error_body(ErrorCode.PAYLOAD_TOO_LARGE, _too_large_message(max_bytes)))
    headers: list[tuple[bytes, bytes]] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        (b"connection", b"close"),
    ]
    start: dict[str, Any] = {"type": "http.response.start", "status": 413, "headers": headers}
    await send(start)
    await send({"type": "http.response.body", "body": payload})
