"""Idempotency-Key: the first response to a mutating request is stored per (actor, key) for
24 hours and replayed, marked `Idempotent-Replayed: true`, for retries.

The claim happens in the route's auth dependency (after authentication, so replays are
rate-limited like any request); `IdempotencyMiddleware` captures the response and stores it
or, for responses that must not be replayed, releases the claim.
"""

from __future__ import annotations

import hashlib

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from upwatch.api.state import AppState
from upwatch.core.errors import AppError, ErrorCode
from upwatch.idempotency import store

HEADER = "idempotency-key"
MAX_KEY_LENGTH = 255
RECORD = "idempotency_record"
# Answers about the caller's credentials or budget at that moment, not about the request:
# a retry must be judged afresh. 5xx are never stored either.
NOT_STORED = frozenset({401, 403, 429})
# Headers that belong to each response, not to the stored result.
NOT_REPLAYED = frozenset(
    {"content-length", "date", "server", "x-request-id", "retry-after", "set-cookie"}
)
NOT_REPLAYED_PREFIXES = ("x-ratelimit-", "x-quota-")


class Replayed(Exception):  # noqa: N818 - a signal, not an error
    def __init__(self, response: store.StoredResponse) -> None:
        super().__init__("replayed")
        self.response = response


def _request_hash(request: Request, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (request.method, request.url.path, request.url.query):
        digest.update(part.encode() + b"\0")
    digest.update(body)
    return digest.hexdigest()


async def claim(request: Request, state: AppState, actor: str) -> bool:
    """Claim the request's key; raise to replay or refuse. False when there is no key."""
    key = request.headers.get(HEADER)
    if key is None:
        return False
    if len(key) > MAX_KEY_LENGTH:
        raise AppError(ErrorCode.IDEMPOTENCY_KEY_TOO_LONG)
    if not key.strip():
        raise AppError(ErrorCode.VALIDATION_FAILED, "Idempotency-Key must not be empty.")
    request_hash = _request_hash(request, await request.body())
    async with state.database.write_session() as session:
        result = await store.claim(session, actor, key, request_hash, state.clock.now())
    if result.outcome is store.Outcome.REPLAY:
        assert result.response is not None
        stored = result.response
        body = state.idempotency_box.decrypt(stored.body)
        raise Replayed(store.StoredResponse(stored.status, stored.headers, body))
    if result.outcome is store.Outcome.REUSED:
        raise AppError(ErrorCode.IDEMPOTENCY_KEY_REUSED)
    if result.outcome is store.Outcome.IN_PROGRESS:
        raise AppError(ErrorCode.IDEMPOTENCY_IN_PROGRESS)
    request.scope.setdefault("state", {})[RECORD] = result.record_id
    return True


async def release_claim(request: Request, state: AppState) -> None:
    record_id = request.scope.get("state", {}).pop(RECORD, None)
    if record_id is not None:
        async with state.database.write_session() as session:
            await store.release(session, record_id)


async def _on_replayed(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Replayed)
    stored = exc.response
    response = Response(content=stored.body, status_code=stored.status)
    for name, value in stored.headers:
        response.headers.append(name, value)
    response.headers["Idempotent-Replayed"] = "true"
    return response


def install_replay_handler(app: FastAPI) -> None:
    app.add_exception_handler(Replayed, _on_replayed)


class IdempotencyMiddleware:
    """Stores the response of a request whose key was claimed, or releases the claim."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in {"POST", "PUT", "PATCH", "DELETE"}:
            await self.app(scope, receive, send)
            return
        status = 0
        headers: list[tuple[str, str]] = []
        body = bytearray()

        async def capture(message: Message) -> None:
            nonlocal status
            if RECORD in scope.get("state", {}):
                if message["type"] == "http.response.start":
                    status = message["status"]
                    headers.extend(
                        (name.decode("latin-1").lower(), value.decode("latin-1"))
                        for name, value in message.get("headers", [])
                    )
                elif message["type"] == "http.response.body":
                    body.extend(message.get("body", b""))
                    if not message.get("more_body", False):
                        # Stored before the client has the last byte: a retry sent the
                        # moment the response arrives finds a replay, not "in progress".
                        record_id = scope["state"].pop(RECORD)
                        await _settle(scope, record_id, status, headers, bytes(body))
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            record_id = scope.get("state", {}).pop(RECORD, None)
            if record_id is not None:
                await _settle(scope, record_id, status, headers, bytes(body))


async def _settle(
    scope: Scope, record_id: int, status: int, headers: list[tuple[str, str]], body: bytes
) -> None:
    state: AppState = scope["app"].state.upwatch
    async with state.database.write_session() as session:
        if 200 <= status < 500 and status not in NOT_STORED:
            kept = [
                (n, v)
                for n, v in headers
                if n not in NOT_REPLAYED and not n.startswith(NOT_REPLAYED_PREFIXES)
            ]
            sealed = state.idempotency_box.encrypt(body)
            await store.finish(session, record_id, store.StoredResponse(status, kept, sealed))
        else:
            await store.release(session, record_id)
