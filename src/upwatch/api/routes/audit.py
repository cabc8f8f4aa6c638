"""`/api/v1/audit-logs`: who changed what, filterable, as JSON pages or a streamed CSV."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from upwatch.api.auth import require
from upwatch.api.csv import csv_line
from upwatch.api.deps import State
from upwatch.api.pagination import CursorParam, Limit, Pagination, decode_cursor, pagination
from upwatch.api.schemas import Timestamp
from upwatch.audit import repository
from upwatch.audit.repository import AuditFilter, AuditRow
from upwatch.core.clock import isoformat_z
from upwatch.core.errors import AppError, ErrorCode, FieldError
from upwatch.core.principal import Principal

router = APIRouter(prefix="/api/v1", tags=["audit"])
CSV_PAGE = 500
CSV_COLUMNS = [
    "id",
    "created_at",
    "action",
    "resource_type",
    "resource_id",
    "actor_user_id",
    "actor_email",
    "actor_token_id",
    "actor_token_prefix",
    "source",
    "client_ip",
    "user_agent",
    "request_id",
    "changes",
]


class AuditActor(BaseModel):
    user_id: UUID | None
    email: str | None
    token_id: UUID | None
    token_prefix: str | None
    source: str


class AuditResource(BaseModel):
    type: str
    id: str | None


class AuditEntry(BaseModel):
    id: UUID
    created_at: Timestamp
    action: str
    resource: AuditResource
    actor: AuditActor
    changes: dict[str, Any]
    client_ip: str | None
    user_agent: str | None
    request_id: str | None

    @classmethod
    def of(cls, row: AuditRow) -> AuditEntry:
        entry = row.entry
        return cls(
            id=entry.public_id,
            created_at=entry.created_at,
            action=entry.action,
            resource=AuditResource(type=entry.resource_type, id=entry.resource_id),
            actor=AuditActor(
                user_id=row.actor_user_public_id,
                email=entry.actor_email,
                token_id=row.actor_token_public_id,
                token_prefix=entry.actor_token_prefix,
                source=entry.source,
            ),
            changes=entry.changes,
            client_ip=entry.client_ip,
            user_agent=entry.user_agent,
            request_id=entry.request_id,
        )


class AuditPage(BaseModel):
    data: list[AuditEntry]
    pagination: Pagination


@router.get(
    "/audit-logs",
    summary="The audit log, newest first",
    response_model=AuditPage,
    responses={200: {"content": {"text/csv": {}}, "description": "JSON page, or CSV"}},
)
async def list_audit_logs(
    principal: Annotated[Principal, require("audit:read")],
    state: State,
    limit: Limit = 25,
    cursor: CursorParam = None,
    action: Annotated[str | None, Query(description="Exact action, e.g. token.create")] = None,
    actor: Annotated[UUID | None, Query(description="The acting user's id")] = None,
    token: Annotated[UUID | None, Query(description="The acting token's id")] = None,
    resource: Annotated[
        str | None, Query(description="`type` or `type:id`, e.g. `member:<user id>`")
    ] = None,
    from_: Annotated[Timestamp | None, Query(alias="from", description="Inclusive")] = None,
    to: Annotated[Timestamp | None, Query(description="Exclusive")] = None,
    format: Annotated[Literal["json", "csv"], Query(description="`csv` streams all")] = "json",
) -> AuditPage | StreamingResponse:
    where = _filter(action, actor, token, resource, from_, to)
    if format == "csv":
        return StreamingResponse(
            _csv(state, principal.organization_id, where),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="audit-log.csv"'},
        )
    async with state.database.session() as session:
        rows, next_key = await repository.page(
            session, principal.organization_id, where, limit=limit, after=decode_cursor(cursor)
        )
    return AuditPage(
        data=[AuditEntry.of(row) for row in rows], pagination=pagination(limit, next_key)
    )


def _filter(
    action: str | None,
    actor: UUID | None,
    token: UUID | None,
    resource: str | None,
    since: datetime | None,
    until: datetime | None,
) -> AuditFilter:
    for name, moment in (("from", since), ("to", until)):
        if moment is not None and moment.tzinfo is None:
            raise AppError(
                ErrorCode.VALIDATION_FAILED,
                fields=[FieldError(name, "invalid", "needs a time zone, e.g. Z")],
            )
    resource_type, _, resource_id = (resource or "").partition(":")
    return AuditFilter(
        action=action,
        actor_user=actor,
        actor_token=token,
        resource_type=resource_type or None,
        resource_id=resource_id or None,
        since=since,
        until=until,
    )


async def _csv(state: State, organization_id: int, where: AuditFilter) -> AsyncIterator[str]:
    """Page through the whole selection, so memory stays flat however long the log is."""
    yield csv_line(CSV_COLUMNS)
    after: UUID | None = None
    while True:
        async with state.database.session() as session:
            rows, after = await repository.page(
                session, organization_id, where, limit=CSV_PAGE, after=after
            )
        for row in rows:
            yield csv_line(_csv_values(AuditEntry.of(row)))
        if after is None:
            return


def _csv_values(entry: AuditEntry) -> list[str]:
    values = [
        entry.id,
        isoformat_z(entry.created_at),
        entry.action,
        entry.resource.type,
        entry.resource.id,
        entry.actor.user_id,
        entry.actor.email,
        entry.actor.token_id,
        entry.actor.token_prefix,
        entry.actor.source,
        entry.client_ip,
        entry.user_agent,
        entry.request_id,
        json.dumps(entry.changes, sort_keys=True),
    ]
    return ["" if value is None else str(value) for value in values]
