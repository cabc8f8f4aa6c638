"""`/api/v1/monitors`: create, read, change, pause, run and remove monitors."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from upwatch.api.auth import require
from upwatch.api.crud import CREATED
from upwatch.api.deps import Session, State, Work, WriteSession, actor_for
from upwatch.api.errors import field_errors
from upwatch.api.pagination import (
    CursorParam,
    Limit,
    decode_sorted_cursor,
    encode_sorted_cursor,
)
from upwatch.api.quotas import enforce_quota
from upwatch.core.errors import AppError, ConfigInvalidError, ErrorCode, FieldError
from upwatch.core.principal import Principal
from upwatch.monitors import repository, service, views
from upwatch.monitors.policy import MonitorStatus
from upwatch.monitors.repository import MonitorFilter, MonitorRow
from upwatch.monitors.schemas import (
    Kind,
    MonitorCreate,
    MonitorDetail,
    MonitorSecrets,
    MonitorSummary,
    MonitorUpdate,
)
from upwatch.monitors.service import Rules
from upwatch.operations import monitors as operations
from upwatch.operations.links import monitor_links
from upwatch.operations.monitors import BatchItemError, Monitoring
from upwatch.schema import Strict

router = APIRouter(prefix="/api/v1/monitors", tags=["monitors"])
Reader = Annotated[Principal, require("monitors:read")]
Writer = Annotated[Principal, require("monitors:write")]
SortField = Literal[
    "created_at", "-created_at", "name", "-name", "kind", "-kind",
    "interval_seconds", "-interval_seconds",
]  # fmt: skip


class MonitorPagination(BaseModel):
    limit: int
    next_cursor: str | None
    total: int = Field(description="Monitors matching the filters, on every page.")


class MonitorList(BaseModel):
    data: list[MonitorSummary]
    pagination: MonitorPagination


def monitoring(state: State) -> Monitoring:
    rules = Rules(
        min_interval_seconds=state.settings.min_interval_seconds,
        allow_unverified_concurrency=state.settings.allow_unverified_concurrency,
    )
    return Monitoring(state.monitor_secrets, rules, state.engine, state.clock)


@router.get("", summary="Monitors, filtered, sorted and paginated")
async def list_monitors(
    principal: Reader,
    session: Session,
    limit: Limit = 25,
    cursor: CursorParam = None,
    status: MonitorStatus | None = None,
    kind: Kind | None = None,
    tag: Annotated[list[str], Query(description="Repeat for AND: ?tag=a&tag=b")] = [],  # noqa: B006
    group_id: UUID | None = None,
    is_active: bool | None = None,
    q: Annotated[str | None, Query(max_length=200, description="In name or target")] = None,
    sort: SortField = "-created_at",
) -> MonitorList:
    where = MonitorFilter(
        status=status, kind=kind, tags=tuple(tag), group_id=group_id, is_active=is_active, q=q
    )
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
    return MonitorList(
        data=[views.summary(row) for row in rows],
        pagination=MonitorPagination(
            limit=limit, next_cursor=encode_sorted_cursor(next_key), total=total
        ),
    )


@router.post("", status_code=201, responses=CREATED, summary="Create a monitor")
async def create_monitor(
    body: MonitorCreate,
    principal: Writer,
    work: Work,
    state: State,
    request: Request,
    response: Response,
) -> MonitorDetail:
    await enforce_quota(
        request,
        "monitors",
        used=await repository.count_monitors(work.session, principal.organization_id),
        limit=state.settings.quota_max_monitors,
    )
    monitor = await operations.create(
        work, monitoring(state), actor_for(request, principal), principal.organization_id, body
    )
    response.headers["Location"] = f"/api/v1/monitors/{monitor.public_id}"
    return await _detail(
        work.session, await service.find(work.session, principal.organization_id, monitor.public_id)
    )


MAX_BULK = 100


async def _detail(session: Session, row: MonitorRow) -> MonitorDetail:
    return views.detail(row).model_copy(update=await monitor_links(session, row.monitor))


class BulkCreate(Strict):
    monitors: list[MonitorCreate] = Field(min_length=1, max_length=MAX_BULK)


class BulkUpdate(Strict):
    ids: list[UUID] = Field(min_length=1, max_length=MAX_BULK)
    patch: MonitorUpdate


class BulkDelete(Strict):
    ids: list[UUID] = Field(min_length=1, max_length=MAX_BULK)


class BulkItem(BaseModel):
    index: int
    id: UUID
    status: int


class BulkResult(BaseModel):
    data: list[BulkItem]


def _at_index(failed: BatchItemError, name: str) -> AppError:
    """An item's error, its field paths prefixed with the item (`monitors[3].target`)."""
    error, index = _named(failed.error), failed.index
    fields = [
        FieldError(f"{name}[{index}].{item.path}", item.code, item.message) for item in error.fields
    ]
    message = error.message or (f"Item {index} of {name} failed." if not fields else None)
    return AppError(error.code, message, fields=fields, headers=error.headers)


async def _rows_for(session: Session, principal: Principal, ids: list[UUID]) -> list[MonitorRow]:
    """Every id must be ours; the first that is not is named (404), nothing changes."""
    if len(set(ids)) != len(ids):
        raise AppError(
            ErrorCode.VALIDATION_FAILED,
            fields=[FieldError("ids", "duplicate", "each id may appear once")],
        )
    rows = {row.monitor.public_id: row for row in await repository.get_many(
        session, principal.organization_id, ids
    )}  # fmt: skip
    for index, monitor_id in enumerate(ids):
        if monitor_id not in rows:
            raise AppError(ErrorCode.NOT_FOUND, f"No such monitor: ids[{index}] ({monitor_id}).")
    return [rows[monitor_id] for monitor_id in ids]


@router.post("/bulk", status_code=201, summary="Create up to 100 monitors, all or none")
async def bulk_create(
    body: BulkCreate, principal: Writer, work: Work, state: State, request: Request
) -> BulkResult:
    await enforce_quota(
        request,
        "monitors",
        used=await repository.count_monitors(work.session, principal.organization_id)
        + len(body.monitors)
        - 1,
        limit=state.settings.quota_max_monitors,
    )
    actor = actor_for(request, principal)
    try:
        made = await operations.create_many(
            work, monitoring(state), actor, principal.organization_id, body.monitors
        )
    except BatchItemError as failed:
        raise _at_index(failed, "monitors") from None
    return BulkResult(
        data=[BulkItem(index=i, id=m.public_id, status=201) for i, m in enumerate(made)]
    )


def _named(error: AppError | ConfigInvalidError) -> AppError:
    """A config its kind refuses, named field by field (`config.<path>`)."""
    if isinstance(error, AppError):
        return error
    errors = [{**item, "loc": ("config", *item["loc"])} for item in error.errors]
    return AppError(ErrorCode.VALIDATION_FAILED, fields=field_errors(errors))


@router.patch(
    "/bulk",
    summary="Apply one change to up to 100 monitors, all or none",
    responses={404: {"description": "One of the monitors does not exist"}},
)
async def bulk_update(
    body: BulkUpdate, principal: Writer, work: Work, state: State, request: Request
) -> BulkResult:
    rows = await _rows_for(work.session, principal, body.ids)
    actor = actor_for(request, principal)
    try:
        await operations.update_many(work, monitoring(state), actor, rows, body.patch)
    except BatchItemError as failed:
        raise _at_index(failed, "ids") from None
    return BulkResult(
        data=[BulkItem(index=i, id=row.monitor.public_id, status=200) for i, row in enumerate(rows)]
    )


@router.delete(
    "/bulk",
    summary="Delete up to 100 monitors, all or none",
    responses={404: {"description": "One of the monitors does not exist"}},
)
async def bulk_delete(
    body: BulkDelete, principal: Writer, work: Work, state: State, request: Request
) -> BulkResult:
    rows = await _rows_for(work.session, principal, body.ids)
    await operations.remove(work, monitoring(state), actor_for(request, principal), rows)
    return BulkResult(
        data=[BulkItem(index=i, id=row.monitor.public_id, status=204) for i, row in enumerate(rows)]
    )


@router.get("/{monitor_id}", summary="A monitor with its live state")
async def read_monitor(monitor_id: UUID, principal: Reader, session: Session) -> MonitorDetail:
    return await _detail(
        session, await service.find(session, principal.organization_id, monitor_id)
    )


@router.patch("/{monitor_id}", summary="Change a monitor")
async def update_monitor(
    monitor_id: UUID,
    body: MonitorUpdate,
    principal: Writer,
    work: Work,
    state: State,
    request: Request,
) -> MonitorDetail:
    row = await service.find(work.session, principal.organization_id, monitor_id)
    try:
        await operations.update(work, monitoring(state), actor_for(request, principal), row, body)
    except ConfigInvalidError as exc:
        raise _named(exc) from None
    return await _detail(
        work.session, await service.find(work.session, principal.organization_id, monitor_id)
    )


@router.delete("/{monitor_id}", status_code=204, summary="Delete a monitor and its history")
async def delete_monitor(
    monitor_id: UUID, principal: Writer, work: Work, state: State, request: Request
) -> None:
    row = await service.find(work.session, principal.organization_id, monitor_id)
    await operations.remove(work, monitoring(state), actor_for(request, principal), [row])


async def _set_active(
    monitor_id: UUID,
    active: bool,
    principal: Principal,
    work: Work,
    state: State,
    request: Request,
) -> MonitorDetail:
    row = await service.find(work.session, principal.organization_id, monitor_id)
    await operations.set_active(work, monitoring(state), actor_for(request, principal), row, active)
    return await _detail(
        work.session, await service.find(work.session, principal.organization_id, monitor_id)
    )


@router.post("/{monitor_id}/pause", summary="Stop checking (state `paused`)")
async def pause_monitor(
    monitor_id: UUID, principal: Writer, work: Work, state: State, request: Request
) -> MonitorDetail:
    return await _set_active(monitor_id, False, principal, work, state, request)


@router.post("/{monitor_id}/resume", summary="Check again, from the next slot")
async def resume_monitor(
    monitor_id: UUID, principal: Writer, work: Work, state: State, request: Request
) -> MonitorDetail:
    return await _set_active(monitor_id, True, principal, work, state, request)


@router.get(
    "/{monitor_id}/secrets",
    summary="The monitor's config with its secret values (audited)",
)
async def read_monitor_secrets(
    monitor_id: UUID,
    principal: Annotated[Principal, require("secrets:read")],
    session: WriteSession,
    state: State,
    request: Request,
) -> MonitorSecrets:
    row = await service.find(session, principal.organization_id, monitor_id)
    service.record_secrets_read(session, actor_for(request, principal), row, state.clock.now())
    return MonitorSecrets(
        id=row.monitor.public_id,
        config=service.full_config(state.monitor_secrets, row.monitor),
    )
