"""`/api/v1/silences`: time-bounded rules; matching alerts are recorded as silenced."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from upwatch.api.auth import require
from upwatch.api.crud import CREATED, list_page, locate
from upwatch.api.deps import Session, State, actor_for
from upwatch.api.pagination import CursorParam, Limit, Pagination, pagination
from upwatch.core.principal import Principal
from upwatch.models import Silence
from upwatch.notify.schemas import SilenceCreate, SilenceView
from upwatch.notify.silences import service
from upwatch.notify.silences.repository import SilenceRepository
from upwatch.notify.silences.views import silence_view

PREFIX = "/api/v1/silences"
router = APIRouter(prefix=PREFIX, tags=["silences"])
Reader = Annotated[Principal, require("maintenance:read")]
Writer = Annotated[Principal, require("maintenance:write")]


class SilenceList(BaseModel):
    data: list[SilenceView]
    pagination: Pagination


async def _find(session: Session, principal: Principal, silence_id: UUID) -> Silence:
    return await SilenceRepository(session).get_or_404(principal.organization_id, silence_id)


@router.get("", summary="Silences, newest first")
async def list_silences(
    principal: Reader,
    session: Session,
    state: State,
    limit: Limit = 25,
    cursor: CursorParam = None,
    active: Annotated[bool | None, Query(description="true: in force now")] = None,
) -> SilenceList:
    now = state.clock.now()
    page = await list_page(
        SilenceRepository(session), principal.organization_id,
        *SilenceRepository.in_force(active, now), limit=limit, cursor=cursor,
    )  # fmt: skip
    return SilenceList(
        data=[silence_view(silence, now) for silence in page.rows],
        pagination=pagination(limit, page.next_key),
    )


@router.post("", status_code=201, responses=CREATED, summary="Silence matching alerts for a while")
async def create_silence(
    body: SilenceCreate,
    principal: Writer,
    session: Session,
    state: State,
    request: Request,
    response: Response,
) -> SilenceView:
    silence = await service.create(
        session, actor_for(request, principal), principal.organization_id, body, state.clock.now()
    )
    locate(response, PREFIX, silence.public_id)
    return silence_view(silence, state.clock.now())


@router.get("/{silence_id}", summary="A silence")
async def read_silence(
    silence_id: UUID, principal: Reader, session: Session, state: State
) -> SilenceView:
    return silence_view(await _find(session, principal, silence_id), state.clock.now())


@router.post("/{silence_id}/expire", summary="End a silence now")
async def expire_silence(
    silence_id: UUID, principal: Writer, session: Session, state: State, request: Request
) -> SilenceView:
    silence = await _find(session, principal, silence_id)
    now = state.clock.now()
    service.expire(session, actor_for(request, principal), silence, now)
    return silence_view(silence, now)


@router.delete("/{silence_id}", status_code=204, summary="Delete a silence")
async def delete_silence(
    silence_id: UUID, principal: Writer, session: Session, state: State, request: Request
) -> Response:
    silence = await _find(session, principal, silence_id)
    await service.delete(session, actor_for(request, principal), silence, state.clock.now())
    return Response(status_code=204)
