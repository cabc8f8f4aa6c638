"""`/api/v1/incidents`: what went wrong and when, opened and resolved automatically with the
state changes of monitors and heartbeats."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from upwatch.api.auth import require
from upwatch.api.crud import CREATED
from upwatch.api.csv import csv_line
from upwatch.api.deps import Session, State, Work, actor_for
from upwatch.api.pagination import CursorParam, Limit, Pagination, decode_cursor, pagination
from upwatch.api.state import AppState
from upwatch.core.errors import AppError, ErrorCode
from upwatch.core.principal import Principal
from upwatch.incidents import repository, service, views
from upwatch.incidents.repository import IncidentFilter, IncidentRow
from upwatch.incidents.schemas import (
    IncidentCreate,
    IncidentDetail,
    IncidentPatch,
    IncidentState,
    IncidentSummary,
    Postmortem,
    ResolveBody,
    TimelineEntry,
    UpdateCreate,
)

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])
Reader = Annotated[Principal, require("incidents:read")]
Writer = Annotated[Principal, require("incidents:write")]
CSV_PAGE = 500
CSV_COLUMNS = [
    "id", "title", "impact", "state", "monitor_id", "heartbeat_id", "cause", "auto_created",
    "auto_resolved", "started_at", "acknowledged_at", "acknowledged_by", "resolved_at",
    "resolved_by", "duration_seconds",
]  # fmt: skip


class IncidentList(BaseModel):
    data: list[IncidentSummary]
    pagination: Pagination


@router.get(
    "",
    summary="Incidents, newest first (JSON pages, or ?format=csv)",
    response_model=IncidentList,
    responses={200: {"content": {"text/csv": {}}, "description": "JSON page, or CSV"}},
)
async def list_incidents(
    principal: Reader,
    session: Session,
    state: State,
    limit: Limit = 25,
    cursor: CursorParam = None,
    status: Annotated[IncidentState | None, Query(alias="state")] = None,
    open: Annotated[bool | None, Query(description="true: not resolved; false: resolved")] = None,
    monitor_id: UUID | None = None,
    heartbeat_id: UUID | None = None,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> IncidentList | StreamingResponse:
    where = IncidentFilter(
        state=status, open=open, monitor_id=monitor_id, heartbeat_id=heartbeat_id
    )
    if format == "csv":
        return StreamingResponse(
            _csv(state, principal.organization_id, where),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="incidents.csv"'},
        )
    rows, next_key = await repository.page(
        session, principal.organization_id, where, limit=limit, after=decode_cursor(cursor)
    )
    return IncidentList(
        data=[views.summary(row) for row in rows], pagination=pagination(limit, next_key)
    )


async def _csv(state: AppState, organization_id: int, where: IncidentFilter) -> AsyncIterator[str]:
    yield csv_line(CSV_COLUMNS)
    after: UUID | None = None
    while True:
        async with state.database.session() as session:
            rows, after = await repository.page(
                session, organization_id, where, limit=CSV_PAGE, after=after
            )
        for row in rows:
            item = views.summary(row).model_dump(mode="json")  # timestamps as the API shows them
            yield csv_line(item[column] for column in CSV_COLUMNS)
        if after is None:
            return


async def _find(session: Session, principal: Principal, incident_id: UUID) -> IncidentRow:
    row = await repository.find(session, principal.organization_id, incident_id)
    if row is None:
        raise AppError(ErrorCode.NOT_FOUND, "No such incident.")
    return row


async def _detail(session: Session, principal: Principal, incident_id: UUID) -> IncidentDetail:
    row = await _find(session, principal, incident_id)
    return views.detail(row, await repository.timeline(session, row.incident.id))


@router.post("", status_code=201, responses=CREATED, summary="Declare an incident")
async def declare_incident(
    body: IncidentCreate,
    principal: Writer,
    work: Work,
    state: State,
    request: Request,
    response: Response,
) -> IncidentDetail:
    incident = await service.declare(
        work,
        actor_for(request, principal),
        organization_id=principal.organization_id,
        data=body,
        now=state.clock.now(),
    )
    response.headers["Location"] = f"/api/v1/incidents/{incident.public_id}"
    return await _detail(work.session, principal, incident.public_id)


@router.get("/{incident_id}", summary="An incident with its timeline")
async def read_incident(incident_id: UUID, principal: Reader, session: Session) -> IncidentDetail:
    return await _detail(session, principal, incident_id)


@router.patch("/{incident_id}", summary="Change the title, impact or (open) state")
async def change_incident(
    incident_id: UUID,
    body: IncidentPatch,
    principal: Writer,
    work: Work,
    state: State,
    request: Request,
) -> IncidentDetail:
    row = await _find(work.session, principal, incident_id)
    service.change(work, actor_for(request, principal), row, body, state.clock.now())
    return await _detail(work.session, principal, incident_id)


@router.post("/{incident_id}/acknowledge", summary="Someone is on it (once; again: no change)")
async def acknowledge_incident(
    incident_id: UUID, principal: Writer, work: Work, state: State, request: Request
) -> IncidentDetail:
    row = await _find(work.session, principal, incident_id)
    service.acknowledge(work, actor_for(request, principal), row, state.clock.now())
    return await _detail(work.session, principal, incident_id)


@router.post("/{incident_id}/resolve", summary="Resolve (409 if it already is)")
async def resolve_incident(
    incident_id: UUID,
    principal: Writer,
    work: Work,
    state: State,
    request: Request,
    body: ResolveBody | None = None,
) -> IncidentDetail:
    row = await _find(work.session, principal, incident_id)
    message = None if body is None else body.message
    service.resolve(work, actor_for(request, principal), row, message, state.clock.now())
    return await _detail(work.session, principal, incident_id)


@router.post(
    "/{incident_id}/updates",
    status_code=201,
    responses=CREATED,
    summary="Add a timeline entry (public or internal)",
)
async def post_update(
    incident_id: UUID,
    body: UpdateCreate,
    principal: Writer,
    work: Work,
    state: State,
    request: Request,
    response: Response,
) -> TimelineEntry:
    row = await _find(work.session, principal, incident_id)
    entry = service.add_update(work, actor_for(request, principal), row, body, state.clock.now())
    await work.session.flush()
    # An entry has no URL of its own: it is read in its incident's timeline.
    response.headers["Location"] = f"/api/v1/incidents/{incident_id}"
    return views.entry(entry)


@router.put("/{incident_id}/postmortem", summary="Write or replace the post-mortem (markdown)")
async def put_postmortem(
    incident_id: UUID,
    body: Postmortem,
    principal: Writer,
    work: Work,
    state: State,
    request: Request,
) -> IncidentDetail:
    row = await _find(work.session, principal, incident_id)
    service.write_postmortem(
        work, actor_for(request, principal), row, body.markdown, state.clock.now()
    )
    return await _detail(work.session, principal, incident_id)
