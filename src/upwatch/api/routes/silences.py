"""`/api/v1/silences`: time-bounded rules; matching alerts are recorded as silenced."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel
from sqlalchemy import select

from upwatch.api.auth import require
from upwatch.api.deps import Session, State, actor_for
from upwatch.api.pagination import CursorParam, Limit, Pagination, decode_cursor, pagination
from upwatch.audit import service as audit
from upwatch.core.errors import AppError, ErrorCode
from upwatch.core.principal import Principal
from upwatch.db.pagination import keyset_page
from upwatch.models import Silence
from upwatch.notify import rules
from upwatch.notify.schemas import SilenceCreate, SilenceView

router = APIRouter(prefix="/api/v1/silences", tags=["silences"])
Reader = Annotated[Principal, require("maintenance:read")]
Writer = Annotated[Principal, require("maintenance:write")]


class SilenceList(BaseModel):
    data: list[SilenceView]
    pagination: Pagination


async def _find(session: Session, principal: Principal, silence_id: UUID) -> Silence:
    query = select(Silence).where(
        Silence.organization_id == principal.organization_id, Silence.public_id == silence_id
    )
    silence = (await session.execute(query)).scalar_one_or_none()
    if silence is None:
        raise AppError(ErrorCode.NOT_FOUND, "No such silence.")
    return silence


@router.get("", summary="Silences, newest first")
async def list_silences(
    principal: Reader,
    session: Session,
    state: State,
    limit: Limit = 50,
    cursor: CursorParam = None,
    active: Annotated[bool | None, Query(description="true: in force now")] = None,
) -> SilenceList:
    now = state.clock.now()
    query = select(Silence).where(Silence.organization_id == principal.organization_id)
    if active is True:
        query = query.where(Silence.starts_at <= now, Silence.ends_at > now)
    elif active is False:
        query = query.where((Silence.starts_at > now) | (Silence.ends_at <= now))
    rows, next_key = await keyset_page(
        session, query, Silence.public_id, limit=limit, after=decode_cursor(cursor)
    )
    return SilenceList(
        data=[rules.silence_view(row[0], now) for row in rows],
        pagination=pagination(limit, next_key),
    )


@router.post("", status_code=201, summary="Silence matching alerts for a while")
async def create_silence(
    body: SilenceCreate,
    principal: Writer,
    session: Session,
    state: State,
    request: Request,
    response: Response,
) -> SilenceView:
    silence = await rules.create_silence(
        session, actor_for(request, principal), principal.organization_id, body, state.clock.now()
    )
    response.headers["Location"] = f"/api/v1/silences/{silence.public_id}"
    return rules.silence_view(silence, state.clock.now())


@router.get("/{silence_id}", summary="A silence")
async def read_silence(
    silence_id: UUID, principal: Reader, session: Session, state: State
) -> SilenceView:
    return rules.silence_view(await _find(session, principal, silence_id), state.clock.now())


@router.post("/{silence_id}/expire", summary="End a silence now")
async def expire_silence(
    silence_id: UUID, principal: Writer, session: Session, state: State, request: Request
) -> SilenceView:
    silence = await _find(session, principal, silence_id)
    now = state.clock.now()
    if silence.ends_at > now:
        changes = audit.diff({"ends_at": silence.ends_at.isoformat()}, {"ends_at": now.isoformat()})
        silence.ends_at = max(now, silence.starts_at)
        audit.record_for(
            session, actor_for(request, principal), "silence", silence, "silence.expire",
            changes, now,
        )  # fmt: skip
    return rules.silence_view(silence, now)


@router.delete("/{silence_id}", status_code=204, summary="Delete a silence")
async def delete_silence(
    silence_id: UUID, principal: Writer, session: Session, state: State, request: Request
) -> Response:
    silence = await _find(session, principal, silence_id)
    audit.record_for(
        session, actor_for(request, principal), "silence", silence, "silence.delete", {},
        state.clock.now(),
    )  # fmt: skip
    await session.delete(silence)
    return Response(status_code=204)
