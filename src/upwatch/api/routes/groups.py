"""`/api/v1/monitor-groups`: named sets of monitors (`group_id` on a monitor)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from upwatch.api.auth import require
from upwatch.api.crud import CREATED, list_page, locate
from upwatch.api.deps import Session, State, actor_for
from upwatch.api.pagination import CursorParam, Limit, Pagination, pagination
from upwatch.core.principal import Principal
from upwatch.models import MonitorGroup
from upwatch.monitors.groups import service
from upwatch.monitors.groups.repository import GroupRepository
from upwatch.schema import Strict, Timestamp

PREFIX = "/api/v1/monitor-groups"
router = APIRouter(prefix=PREFIX, tags=["monitor groups"])
Reader = Annotated[Principal, require("monitors:read")]
Writer = Annotated[Principal, require("monitors:write")]


class GroupWrite(Strict):
    name: str = Field(min_length=1, max_length=200)


class GroupRead(BaseModel):
    id: UUID
    name: str
    monitors: int
    created_at: Timestamp

    @classmethod
    def of(cls, group: MonitorGroup, monitors: int) -> GroupRead:
        return cls(
            id=group.public_id, name=group.name, monitors=monitors, created_at=group.created_at
        )


class GroupList(BaseModel):
    data: list[GroupRead]
    pagination: Pagination


async def _read(session: Session, group: MonitorGroup) -> GroupRead:
    counts = await GroupRepository(session).monitor_counts([group])
    return GroupRead.of(group, counts[group.id])


@router.get("", summary="Monitor groups, oldest first")
async def list_groups(
    principal: Reader, session: Session, limit: Limit = 25, cursor: CursorParam = None
) -> GroupList:
    groups = GroupRepository(session)
    page = await list_page(
        groups, principal.organization_id, limit=limit, cursor=cursor, descending=False
    )
    counts = await groups.monitor_counts(page.rows)
    return GroupList(
        data=[GroupRead.of(group, counts[group.id]) for group in page.rows],
        pagination=pagination(limit, page.next_key),
    )


@router.post("", status_code=201, responses=CREATED, summary="Create a monitor group")
async def create_group(
    body: GroupWrite,
    principal: Writer,
    session: Session,
    state: State,
    request: Request,
    response: Response,
) -> GroupRead:
    group = await service.create(
        session, actor_for(request, principal), principal.organization_id, body.name,
        state.clock.now(),
    )  # fmt: skip
    locate(response, PREFIX, group.public_id)
    return GroupRead.of(group, 0)


@router.get("/{group_id}", summary="A monitor group")
async def read_group(group_id: UUID, principal: Reader, session: Session) -> GroupRead:
    group = await GroupRepository(session).get_or_404(principal.organization_id, group_id)
    return await _read(session, group)


@router.patch("/{group_id}", summary="Rename a monitor group")
async def rename_group(
    group_id: UUID,
    body: GroupWrite,
    principal: Writer,
    session: Session,
    state: State,
    request: Request,
) -> GroupRead:
    group = await GroupRepository(session).get_or_404(principal.organization_id, group_id)
    await service.rename(
        session, actor_for(request, principal), group, body.name, state.clock.now()
    )
    return await _read(session, group)


@router.delete("/{group_id}", status_code=204, summary="Delete a group (its monitors stay)")
async def delete_group(
    group_id: UUID, principal: Writer, session: Session, state: State, request: Request
) -> None:
    group = await GroupRepository(session).get_or_404(principal.organization_id, group_id)
    await service.delete(session, actor_for(request, principal), group, state.clock.now())
