"""`/api/v1/maintenance-windows`: planned work. Checks go on and are recorded; covered
monitors show `maintenance`; no incident and no alert is raised for them meanwhile."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from upwatch.api.auth import require
from upwatch.api.crud import CREATED, list_page, locate
from upwatch.api.deps import Session, State, actor_for, after_commit
from upwatch.api.pagination import CursorParam, Limit, Pagination, pagination
from upwatch.api.state import AppState
from upwatch.core.principal import Principal
from upwatch.models import MaintenanceWindow
from upwatch.notify.maintenance import service
from upwatch.notify.maintenance.repository import WindowRepository
from upwatch.notify.maintenance.views import window_view
from upwatch.notify.schemas import WindowCreate, WindowView

PREFIX = "/api/v1/maintenance-windows"
router = APIRouter(prefix=PREFIX, tags=["maintenance"])
Reader = Annotated[Principal, require("maintenance:read")]
Writer = Annotated[Principal, require("maintenance:write")]


class WindowList(BaseModel):
    data: list[WindowView]
    pagination: Pagination


def _tell_engine(request: Request, state: AppState) -> None:
    after_commit(request, state.engine.calendar.refresh)


async def _find(session: Session, principal: Principal, window_id: UUID) -> MaintenanceWindow:
    return await WindowRepository(session).get_or_404(principal.organization_id, window_id)


@router.get("", summary="Maintenance windows")
async def list_windows(
    principal: Reader, session: Session, state: State, limit: Limit = 25, cursor: CursorParam = None
) -> WindowList:
    page = await list_page(
        WindowRepository(session), principal.organization_id, limit=limit, cursor=cursor,
        descending=False,
    )  # fmt: skip
    now = state.clock.now()
    return WindowList(
        data=[window_view(window, now) for window in page.rows],
        pagination=pagination(limit, page.next_key),
    )


@router.post("", status_code=201, responses=CREATED, summary="Plan a window (one-off or recurring)")
async def create_window(
    body: WindowCreate,
    principal: Writer,
    session: Session,
    state: State,
    request: Request,
    response: Response,
) -> WindowView:
    window = await service.create(
        session, actor_for(request, principal), principal.organization_id, body, state.clock.now()
    )
    _tell_engine(request, state)
    locate(response, PREFIX, window.public_id)
    return window_view(window, state.clock.now())


@router.get("/{window_id}", summary="A maintenance window, with its current/next occurrence")
async def read_window(
    window_id: UUID, principal: Reader, session: Session, state: State
) -> WindowView:
    return window_view(await _find(session, principal, window_id), state.clock.now())


@router.put("/{window_id}", summary="Replace a maintenance window")
async def replace_window(
    window_id: UUID,
    body: WindowCreate,
    principal: Writer,
    session: Session,
    state: State,
    request: Request,
) -> WindowView:
    window = await _find(session, principal, window_id)
    await service.replace(session, actor_for(request, principal), window, body, state.clock.now())
    _tell_engine(request, state)
    return window_view(window, state.clock.now())


@router.delete("/{window_id}", status_code=204, summary="Delete (ends it now if in progress)")
async def delete_window(
    window_id: UUID, principal: Writer, session: Session, state: State, request: Request
) -> Response:
    window = await _find(session, principal, window_id)
    await service.delete(session, actor_for(request, principal), window, state.clock.now())
    _tell_engine(request, state)
    return Response(status_code=204)
