"""The public ping endpoints, compatible with the Healthchecks ping protocol:

    /ping/{uuid}                      success           /ping/{key}/{slug}
    /ping/{uuid}/start                a run starts      /ping/{key}/{slug}/start
    /ping/{uuid}/fail                 failure           /ping/{key}/{slug}/fail
    /ping/{uuid}/log                  only recorded     /ping/{key}/{slug}/log
    /ping/{uuid}/{exit_code}          0 success, 1-255 failure, else 400 INVALID_EXIT_CODE

GET, POST and HEAD all count; `?rid=` tells overlapping runs apart; `?create=1` on a slug URL
creates the heartbeat. The body (job output) is stored up to UPWATCH_PING_BODY_MAX_BYTES.
`POST|HEAD /api/v1/heartbeats/{uuid}` is the same success ping, answered with 204.

No credentials: the uuid (or key) is the credential. An unknown one is a plain 404, and
every ping counts against the client IP's rate limit, found or not.
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import PlainTextResponse
from sqlalchemy.exc import IntegrityError

from upwatch.api.auth import public_ping
from upwatch.api.deps import State, client_ip
from upwatch.api.quotas import enforce_quota
from upwatch.api.state import AppState
from upwatch.audit.service import Actor, Source
from upwatch.core.errors import AppError, ErrorCode, FieldError
from upwatch.db.unit_of_work import unit_of_work
from upwatch.engine.heartbeats.pings import Received
from upwatch.heartbeats import repository, service
from upwatch.heartbeats.machine import Ping, PingKind
from upwatch.heartbeats.schemas import SLUG_PATTERN, HeartbeatCreate

router = APIRouter(tags=["pings"], dependencies=[public_ping])
# POST|HEAD /api/v1/heartbeats/{token}: its own router, included after the heartbeats routes
# (for which it would be a catch-all), while `router` (/ping/...) is included first: routes
# are matched in order, and matching every API route first cost a sixth of a ping's CPU.
token_router = APIRouter(tags=["pings"], dependencies=[public_ping])
METHODS = ["GET", "POST", "HEAD"]
SIGNALS = {"start": PingKind.START, "fail": PingKind.FAILURE, "log": PingKind.LOG}
MAX_EXIT_CODE = 255
USER_AGENT_CHARS = 300
RUN_ID_PATTERN = r"^[A-Za-z0-9_.:-]+$"
RUN_ID_MAX = 64
RunId = Annotated[
    str | None,
    Query(
        max_length=RUN_ID_MAX,
        pattern=RUN_ID_PATTERN,
        description="Run id (a UUID, say): pings with the same rid belong to one run.",
    ),
]
Create = Annotated[
    bool, Query(description="Slug URLs only: create the heartbeat if it does not exist.")
]


def _signal(signal: str | None) -> tuple[PingKind, int | None]:
    if signal is None:
        return PingKind.SUCCESS, None
    if signal in SIGNALS:
        return SIGNALS[signal], None
    if signal.isascii() and signal.isdigit() and int(signal) <= MAX_EXIT_CODE:
        code = int(signal)
        return (PingKind.SUCCESS if code == 0 else PingKind.FAILURE), code
    raise AppError(
        ErrorCode.INVALID_EXIT_CODE,
        f"{signal[:20]!r} is not start, fail, log or an exit code from 0 to 255.",
        fields=[FieldError("exit_code", "invalid", "must be a whole number from 0 to 255")],
    )


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _not_found() -> AppError:
    return AppError(ErrorCode.NOT_FOUND, "No heartbeat has this ping URL.")


async def _body(request: Request, limit: int) -> tuple[str | None, bool]:
    """The first `limit` bytes of the body as text, and whether there was more."""
    kept, truncated = bytearray(), False
    async for chunk in request.stream():
        room = limit - len(kept)
        if len(chunk) > room:
            kept += chunk[: max(0, room)]
            truncated = True
            break
        kept += chunk
    if not kept:
        return None, truncated
    # PostgreSQL text cannot hold NUL; job output is text, so undecodable bytes are marked.
    return kept.decode("utf-8", errors="replace").replace("\x00", "\ufffd"), truncated


async def _slug_target(state: AppState, request: Request, key: str, slug: str, create: bool) -> int:
    hasher = state.ping_credentials.lookup_hash
    async with state.database.session() as session:
        organization_id = await repository.organization_of_key(session, hasher(key))
        if organization_id is None:
            raise _not_found()
        heartbeat_id = await repository.by_slug(session, organization_id, slug)
    if heartbeat_id is not None:
        return heartbeat_id
    if not create or not _valid_slug(slug):
        raise _not_found()
    return await _create(state, request, organization_id, slug)


def _valid_slug(slug: str) -> bool:
    return re.fullmatch(SLUG_PATTERN, slug) is not None


async def _create(state: AppState, request: Request, organization_id: int, slug: str) -> int:
    try:
        return await _create_once(state, request, organization_id, slug)
    except (IntegrityError, AppError) as exc:
        # A concurrent ping created it first (PostgreSQL; SQLite serializes writers): the slug
        # check or the unique constraint says so. Ping that one.
        if isinstance(exc, AppError) and exc.code is not ErrorCode.SLUG_TAKEN:
            raise
        async with state.database.session() as session:
            existing = await repository.by_slug(session, organization_id, slug)
        if existing is None:
            raise
        return existing


async def _create_once(state: AppState, request: Request, organization_id: int, slug: str) -> int:
    actor = Actor(source=Source.SYSTEM, client_ip=client_ip(request))
    async with unit_of_work(state.database) as session:
        existing = await repository.by_slug(session, organization_id, slug)
        if existing is not None:  # created by a concurrent ping
            return existing
        await enforce_quota(
            request,
            "heartbeats",
            used=await repository.count_heartbeats(session, organization_id),
            limit=state.settings.quota_max_heartbeats,
        )
        heartbeat = await service.create(
            session,
            actor,
            state.ping_credentials,
            organization_id=organization_id,
            data=HeartbeatCreate(name=slug, slug=slug),
            now=state.clock.now(),
        )
        return heartbeat.id


async def record_ping(
    request: Request, state: AppState, parts: list[str], rid: str | None, create: bool
) -> None:
    first, rest = parts[0], parts[1:]
    received_at = state.clock.now()
    if _is_uuid(first):
        if len(rest) > 1:
            raise _not_found()
        kind, code = _signal(rest[0] if rest else None)
        token_hash, heartbeat_id = state.ping_credentials.lookup_hash(first), None
    else:
        if not rest or len(rest) > 2:
            raise _not_found()
        kind, code = _signal(rest[1] if len(rest) > 1 else None)
        token_hash = None
        heartbeat_id = await _slug_target(state, request, first, rest[0], create)
    body, truncated = await _body(request, state.settings.ping_body_max_bytes)
    received = Received(
        ping=Ping(kind=kind, received_at=received_at, exit_code=code, rid=rid, body=body),
        method=request.method,
        source_ip=client_ip(request),
        user_agent=(request.headers.get("user-agent") or "")[:USER_AGENT_CHARS] or None,
        body_truncated=truncated,
        token_hash=token_hash,
        heartbeat_id=heartbeat_id,
    )
    try:
        stored = await state.engine.pings.submit(received)
    except Exception:
        raise AppError(
            ErrorCode.SERVICE_UNAVAILABLE, "The ping could not be stored; retry."
        ) from None
    if not stored:
        raise _not_found()


def ok_response(request: Request) -> Response:
    return PlainTextResponse("" if request.method == "HEAD" else "OK")


async def ping_one(
    first: str, request: Request, state: State, rid: RunId = None, create: Create = False
) -> Response:
    await record_ping(request, state, [first], rid, create)
    return ok_response(request)


async def ping_two(
    first: str,
    second: str,
    request: Request,
    state: State,
    rid: RunId = None,
    create: Create = False,
) -> Response:
    await record_ping(request, state, [first, second], rid, create)
    return ok_response(request)


async def ping_three(
    first: str,
    second: str,
    third: str,
    request: Request,
    state: State,
    rid: RunId = None,
    create: Create = False,
) -> Response:
    await record_ping(request, state, [first, second, third], rid, create)
    return ok_response(request)


async def ping_by_token(token: str, request: Request, state: State, rid: RunId = None) -> Response:
    if not _is_uuid(token):
        raise _not_found()
    await record_ping(request, state, [token], rid, create=False)
    return Response(status_code=204)


# One route per method: each OpenAPI operation needs its own id.
PING_ROUTES = (
    ("/ping/{first}", ping_one, METHODS, "Success ping (uuid)"),
    ("/ping/{first}/{second}", ping_two, METHODS,
     "uuid + start|fail|log|exit code, or ping key + slug"),
    ("/ping/{first}/{second}/{third}", ping_three, METHODS,
     "Ping key + slug + start|fail|log|exit code"),
    ("/api/v1/heartbeats/{token}", ping_by_token, ["POST", "HEAD"],
     "Success ping by token (the uuid of the ping URL); 204"),
)  # fmt: skip
for path, endpoint, methods, summary in PING_ROUTES:
    for method in methods:
        (token_router if endpoint is ping_by_token else router).add_api_route(
            path,
            endpoint,
            methods=[method],
            summary=summary,
            operation_id=f"{endpoint.__name__}_{method.lower()}",
            status_code=204 if endpoint is ping_by_token else 200,
            response_class=Response if endpoint is ping_by_token else PlainTextResponse,
        )
