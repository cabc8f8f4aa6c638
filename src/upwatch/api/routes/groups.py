"""`/api/v1/monitor-groups`: named sets of monitors (`group_id` on a monitor)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from upwatch.api.auth import require
from upwatch.api.deps import Session, State, actor_for
from upwatch.api.pagination import CursorParam, Limit, Pagination, decode_cursor, pagination
from upwatch.audit import service as audit
from upwatch.core.errors import AppError, ErrorCode
from upwatch.core.principal import Principal
from upwatch.db.pagination import keyset_page
from upwatch.models import Monitor, MonitorGroup
from upwatch.schema import Strict, Timestamp

router = APIRouter(prefix="/api/v1/monitor-groups", tags=["monitor groups"])
Reader = Annotated[Principal, require("monitors:read")]
Writer = Annotated[Principal, require("monitors:write")]


class GroupWrite(Strict):
    name: str = Field(min_length=1, max_length=200)


class GroupRead(BaseModel):
    id: UUID
    name: str
    monitors: int
    created_at: Timestamp


class GroupList(BaseModel):
    data: list[GroupRead]
    pagination: Pagination


async def _read(session: Session, group: MonitorGroup) -> GroupRead:
    count = await session.execute(
        select(func.count()).select_from(Monitor).where(Monitor.group_id == group.id)
    )
    return GroupRead(
        id=group.public_id,
        name=group.name,
        monitors=int(count.scalar_one()),
        created_at=group.created_at,
    )


async def _find(session: Session, organization_id: int, group_id: UUID) -> MonitorGroup:
    result = await session.execute(
        select(MonitorGroup).where(
            MonitorGroup.organization_id == organization_id, MonitorGroup.public_id == group_id
        )
    )
    group = result.scalar_one_or_none()
    if group is None:
        raise AppError(ErrorCode.NOT_FOUND, "No such group.")
    return group


def _record(
    session: Session,
    request: Request,
    principal: Principal,
    group: MonitorGroup,
    action: str,
    changes: dict[str, object],
    state: State,
) -> None:
    audit.record(
        session,
        actor_for(request, principal),
        organization_id=principal.organization_id,
        action=action,
        resource_type="monitor_group",
        resource_id=str(group.public_id),
        changes=dict(changes),
        at=state.clock.now(),
    )


async def _flush_unique(session: Session, name: str) -> None:
    try:
        await session.flush()
    except IntegrityError:
        raise AppError(ErrorCode.CONFLICT, f"A group named {name!r} already exists.") from None


@router.get("", summary="Monitor groups, oldest first")
async def list_groups(
    principal: Reader, session: Session, limit: Limit = 25, cursor: CursorParam = None
) -> GroupList:
    query = select(MonitorGroup).where(MonitorGroup.organization_id == principal.organization_id)
    rows, next_key = await keyset_page(
        session,
        query,
        MonitorGroup.public_id,
        limit=limit,
        after=decode_cursor(cursor),
        descending=False,
    )
    return GroupList(
        data=[await _read(session, row[0]) for row in rows], pagination=pagination(limit, next_key)
    )


@router.post("", status_code=201, summary="Create a monitor group")
async def create_group(
    body: GroupWrite, principal: Writer, session: Session, state: State, request: Request
) -> GroupRead:
    group = MonitorGroup(
        organization_id=principal.organization_id, name=body.name, created_at=state.clock.now()
    )
    session.add(group)
    await _flush_unique(session, body.name)
    _record(
        session,
        request,
        principal,
        group,
        "monitor_group.create",
        audit.created({"name": body.name}),
        state,
    )
    return await _read(session, group)


@router.get("/{group_id}", summary="A monitor group")
async def read_group(group_id: UUID, principal: Reader, session: Session) -> GroupRead:
    return await _read(session, await _find(session, principal.organization_id, group_id))


@router.patch("/{group_id}", summary="Rename a monitor group")
async def rename_group(
    group_id: UUID,
    body: GroupWrite,
    principal: Writer,
    session: Session,
    state: State,
    request: Request,
) -> GroupRead:
    group = await _find(session, principal.organization_id, group_id)
    before, group.name = group.name, body.name
    await _flush_unique(session, body.name)
    _record(
        session,
        request,
        principal,
        group,
        "monitor_group.update",
        audit.diff({"name": before}, {"name": body.name}),
        state,
    )
    return await _read(session, group)


@router.delete("/{group_id}", status_code=204, summary="Delete a group (its monitors stay)")
async def delete_group(
    group_id: UUID, principal: Writer, session: Session, state: State, request: Request
) -> None:
    group = await _find(session, principal.organization_id, group_id)
    _record(
        session,
        request,
        principal,
        group,
        "monitor_group.delete",
        audit.snapshot({"name": group.name}),
        state,
    )
    await session.delete(group)
