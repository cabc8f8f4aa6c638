"""`/api/v1/heartbeats`: create, read, change, pause, resume and remove heartbeats; their
ping tokens and the organization's ping key."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from upwatch.api.auth import require
from upwatch.api.crud import CREATED
from upwatch.api.deps import Session, State, Work, WriteSession, actor_for
from upwatch.api.pagination import CursorParam, Limit, decode_sorted_cursor, encode_sorted_cursor
from upwatch.api.quotas import enforce_quota
from upwatch.api.state import AppState
from upwatch.core.errors import AppError, ErrorCode
from upwatch.core.principal import Principal
from upwatch.heartbeats import repository, service, views
from upwatch.heartbeats.machine import HeartbeatStatus
from upwatch.heartbeats.repository import HeartbeatFilter, HeartbeatRow
from upwatch.heartbeats.schemas import (
    HeartbeatCreate,
    HeartbeatDetail,
    HeartbeatSecrets,
    HeartbeatSummary,
    HeartbeatUpdate,
    PingKeyRead,
)
from upwatch.operations import heartbeats as operations
from upwatch.operations.heartbeats import Watching
from upwatch.operations.links import heartbeat_channels

router = APIRouter(prefix="/api/v1/heartbeats", tags=["heartbeats"])
Reader = Annotated[Principal, require("heartbeats:read")]
Writer = Annotated[Principal, require("heartbeats:write")]
SortField = Literal["created_at", "-created_at", "name", "-name"]


class HeartbeatPagination(BaseModel):
    limit: int
    next_cursor: str | None
    total: int = Field(description="Heartbeats matching the filters, on every page.")


class HeartbeatList(BaseModel):
    data: list[HeartbeatSummary]
    pagination: HeartbeatPagination


async def find(session: Session, principal: Principal, heartbeat_id: UUID) -> HeartbeatRow:
    row = await repository.find(session, principal.organization_id, heartbeat_id)
    if row is None:
        raise AppError(ErrorCode.NOT_FOUND, "No such heartbeat.")
    return row


async def detail(session: Session, state: AppState, row: HeartbeatRow) -> HeartbeatDetail:
    token = state.ping_credentials.open(row.heartbeat.ping_token_sealed)
    shown = views.detail(row, views.ping_url(state.settings.effective_public_url, token))
    chosen = await heartbeat_channels(session, row.heartbeat.id)
    return shown.model_copy(update={"channel_ids": chosen})


def watching(state: AppState) -> Watching:
    return Watching(state.ping_credentials, state.engine, state.clock)


@router.get("", summary="Heartbeats, filtered, sorted and paginated")
async def list_heartbeats(
    principal: Reader,
    session: Session,
    limit: Limit = 25,
    cursor: CursorParam = None,
    status: HeartbeatStatus | None = None,
    tag: Annotated[list[str], Query(description="Repeat for AND: ?tag=a&tag=b")] = [],  # noqa: B006
    is_active: bool | None = None,
    q: Annotated[str | None, Query(max_length=200, description="In name or slug")] = None,
    sort: SortField = "-created_at",
) -> HeartbeatList:
    where = HeartbeatFilter(status=status, tags=tuple(tag), is_active=is_active, q=q)
    rows, next_key = await repository.page(
        session,
        principal.organization_id,
        where,
        sort=sort.lstrip("-"),
        descending=sort.startswith("-"),
        limit=limit,
        after=decode_sorted_cursor(cursor),
    )
    total = await repository.count(session, principal.organization_id, where)
    return HeartbeatList(
        data=[views.summary(row) for row in rows],
        pagination=HeartbeatPagination(
            limit=limit, next_cursor=encode_sorted_cursor(next_key), total=total
        ),
    )


@router.post("", status_code=201, responses=CREATED, summary="Create a heartbeat")
async def create_heartbeat(
    body: HeartbeatCreate,
    principal: Writer,
    work: Work,
    state: State,
    request: Request,
    response: Response,
) -> HeartbeatDetail:
    await enforce_quota(
        request,
        "heartbeats",
        used=await repository.count_heartbeats(work.session, principal.organization_id),
        limit=state.settings.quota_max_heartbeats,
    )
    heartbeat = await operations.create(
        work, watching(state), actor_for(request, principal), principal.organization_id, body
    )
    response.headers["Location"] = f"/api/v1/heartbeats/{heartbeat.public_id}"
    return await detail(
        work.session, state, await find(work.session, principal, heartbeat.public_id)
    )


async def _ping_key(
    principal: Principal, session: Session, state: AppState, request: Request, *, rotate: bool
) -> PingKeyRead:
    key, row = await service.ping_key(
        session,
        actor_for(request, principal),
        state.ping_credentials,
        principal.organization_id,
        state.clock.now(),
        rotate=rotate,
    )
    return PingKeyRead(ping_key=key, created_at=row.created_at)


@router.get("/ping-key", summary="The organization's ping key, for /ping/{ping_key}/{slug}")
async def read_ping_key(
    principal: Writer,
    session: WriteSession,  # a GET that writes: the key on first read, the audit entry
    state: State,
    request: Request,
) -> PingKeyRead:
    return await _ping_key(principal, session, state, request, rotate=False)


@router.post("/ping-key/rotate", summary="Replace the ping key (old slug URLs stop working)")
async def rotate_ping_key(
    principal: Writer, session: Session, state: State, request: Request
) -> PingKeyRead:
    return await _ping_key(principal, session, state, request, rotate=True)


@router.get("/{heartbeat_id}", summary="A heartbeat with its live state and ping URL")
async def read_heartbeat(
    heartbeat_id: UUID, principal: Reader, session: Session, state: State
) -> HeartbeatDetail:
    return await detail(session, state, await find(session, principal, heartbeat_id))


async def _update(
    heartbeat_id: UUID,
    body: HeartbeatUpdate,
    principal: Principal,
    work: Work,
    state: AppState,
    request: Request,
) -> HeartbeatDetail:
    row = await find(work.session, principal, heartbeat_id)
    await operations.update(work, watching(state), actor_for(request, principal), row, body)
    return await detail(work.session, state, await find(work.session, principal, heartbeat_id))


@router.patch("/{heartbeat_id}", summary="Change a heartbeat")
async def update_heartbeat(
    heartbeat_id: UUID,
    body: HeartbeatUpdate,
    principal: Writer,
    work: Work,
    state: State,
    request: Request,
) -> HeartbeatDetail:
    return await _update(heartbeat_id, body, principal, work, state, request)


@router.put("/{heartbeat_id}", summary="Change a heartbeat (same as PATCH)")
async def replace_heartbeat(
    heartbeat_id: UUID,
    body: HeartbeatUpdate,
    principal: Writer,
    work: Work,
    state: State,
    request: Request,
) -> HeartbeatDetail:
    return await _update(heartbeat_id, body, principal, work, state, request)


@router.delete("/{heartbeat_id}", status_code=204, summary="Delete a heartbeat and its history")
async def delete_heartbeat(
    heartbeat_id: UUID, principal: Writer, work: Work, state: State, request: Request
) -> None:
    row = await find(work.session, principal, heartbeat_id)
    await operations.delete(work, watching(state), actor_for(request, principal), row)


async def _set_active(
    heartbeat_id: UUID,
    active: bool,
    principal: Principal,
    work: Work,
    state: AppState,
    request: Request,
) -> HeartbeatDetail:
    row = await find(work.session, principal, heartbeat_id)
    await operations.set_active(work, watching(state), actor_for(request, principal), row, active)
    return await detail(work.session, state, await find(work.session, principal, heartbeat_id))


@router.post("/{heartbeat_id}/pause", summary="Stop watching the deadline (state `paused`)")
async def pause_heartbeat(
    heartbeat_id: UUID, principal: Writer, work: Work, state: State, request: Request
) -> HeartbeatDetail:
    return await _set_active(heartbeat_id, False, principal, work, state, request)


@router.post(
    "/{heartbeat_id}/resume", summary="Watch again: `pending`, the timer restarted from now"
)
async def resume_heartbeat(
    heartbeat_id: UUID, principal: Writer, work: Work, state: State, request: Request
) -> HeartbeatDetail:
    return await _set_active(heartbeat_id, True, principal, work, state, request)


@router.post(
    "/{heartbeat_id}/rotate-token",
    summary="A new ping token; the old ping URL stops working at once",
)
async def rotate_token(
    heartbeat_id: UUID, principal: Writer, session: Session, state: State, request: Request
) -> HeartbeatSecrets:
    row = await find(session, principal, heartbeat_id)
    token = service.rotate_token(
        session, actor_for(request, principal), state.ping_credentials, row, state.clock.now()
    )
    url = views.ping_url(state.settings.effective_public_url, token)
    return HeartbeatSecrets(ping_token=token, ping_url=url)


@router.get("/{heartbeat_id}/secrets", summary="The ping token and URL (audited)")
async def read_secrets(
    heartbeat_id: UUID,
    principal: Annotated[Principal, require("secrets:read")],
    session: WriteSession,  # a GET that writes its audit entry
    state: State,
    request: Request,
) -> HeartbeatSecrets:
    row = await find(session, principal, heartbeat_id)
    service.record_secrets_read(session, actor_for(request, principal), row, state.clock.now())
    token = state.ping_credentials.open(row.heartbeat.ping_token_sealed)
    url = views.ping_url(state.settings.effective_public_url, token)
    return HeartbeatSecrets(ping_token=token, ping_url=url)
