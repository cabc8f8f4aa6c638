"""`/api/v1/maintenance-windows`: planned work. Checks go on and are recorded; covered
monitors show `maintenance`; no incident and no alert is raised for them meanwhile."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel
from sqlalchemy import select

from upwatch.api.auth import require
from upwatch.api.deps import Session, State, actor_for, after_commit
from upwatch.api.pagination import CursorParam, Limit, Pagination, decode_cursor, pagination
from upwatch.api.state import AppState
from upwatch.audit import service as audit
from upwatch.core.errors import AppError, ErrorCode
from upwatch.core.principal import Principal
from upwatch.db.pagination import keyset_page
from upwatch.models import MaintenanceWindow
from upwatch.notify import rules
from upwatch.notify.schemas import WindowCreate, WindowView

router = APIRouter(prefix="/api/v1/maintenance-windows", tags=["maintenance"])
Reader = Annotated[Principal, require("maintenance:read")]
Writer = Annotated[Principal, require("maintenance:write")]


class WindowList(BaseModel):
    data: list[WindowView]
    pagination: Pagination


def _tell_engine(request: Request, state: AppState) -> None:
    after_commit(request, state.engine.calendar.refresh)


async def _find(session: Session, principal: Principal, window_id: UUID) -> MaintenanceWindow:
    query = select(MaintenanceWindow).where(
        MaintenanceWindow.organization_id == principal.organization_id,
        MaintenanceWindow.public_id == window_id,
    )
    window = (await session.execute(query)).scalar_one_or_none()
    if window is None:
        raise AppError(ErrorCode.NOT_FOUND, "No such maintenance window.")
    return window


@router.get("", summary="Maintenance windows")
async def list_windows(
    principal: Reader, session: Session, state: State, limit: Limit = 50, cursor: CursorParam = None
) -> WindowList:
    query = select(MaintenanceWindow).where(
        MaintenanceWindow.organization_id == principal.organization_id
    )
    rows, next_key = await keyset_page(
        session, query, MaintenanceWindow.public_id, limit=limit, after=decode_cursor(cursor),
        descending=False,
    )  # fmt: skip
    now = state.clock.now()
    return WindowList(
        data=[rules.window_view(row[0], now) for row in rows],
        pagination=pagination(limit, next_key),
    )


@router.post("", status_code=201, summary="Plan a window (one-off or recurring)")
async def create_window(
    body: WindowCreate,
    principal: Writer,
    session: Session,
    state: State,
    request: Request,
    response: Response,
) -> WindowView:
    window = await rules.save_window(
        session, actor_for(request, principal), principal.organization_id, body, state.clock.now()
    )
    _tell_engine(request, state)
    response.headers["Location"] = f"/api/v1/maintenance-windows/{window.public_id}"
    return rules.window_view(window, state.clock.now())


@router.get("/{window_id}", summary="A maintenance window, with its current/next occurrence")
async def read_window(
    window_id: UUID, principal: Reader, session: Session, state: State
) -> WindowView:
    return rules.window_view(await _find(session, principal, window_id), state.clock.now())


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
    await rules.save_window(
        session, actor_for(request, principal), principal.organization_id, body,
        state.clock.now(), window,
    )  # fmt: skip
    _tell_engine(request, state)
    return rules.window_view(window, state.clock.now())


@router.delete("/{window_id}", status_code=204, summary="Delete (ends it now if in progress)")
async def delete_window(
    window_id: UUID, principal: Writer, session: Session, state: State, request: Request
) -> Response:
    window = await _find(session, principal, window_id)
    audit.record_for(
        session, actor_for(request, principal), "maintenance_window", window,
        "maintenance_window.delete", {}, state.clock.now(),
    )  # fmt: skip
    await session.delete(window)
    _tell_engine(request, state)
    return Response(status_code=204)
