"""Compatibility with the Osminog API: `GET /api/v1/task/status` and
`GET /api/v1/website/tasks`, with its field names, types, nulls and error messages, so a
client written for it works unchanged (`X-Api-Key` with an Upwatch token).

A task is a monitor; a website is a website. Errors carry Osminog's `error` text and, in
addition, our stable `code`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlsplit
from uuid import UUID

from fastapi import APIRouter, Query, Request, Security
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel
from sqlalchemy import select

from upwatch.api.auth import RequireScope, api_key_scheme, bearer_scheme
from upwatch.api.deps import Session
from upwatch.core.errors import AppError, ErrorCode
from upwatch.core.principal import Principal
from upwatch.models import Monitor, MonitorState, Website

router = APIRouter(prefix="/api/v1", tags=["osminog compatibility"])


class OsminogAuth(RequireScope):
    """Our authentication, with Osminog's message for a refused key."""

    async def __call__(
        self,
        request: Request,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
        api_key: Annotated[str | None, Security(api_key_scheme)],
    ) -> Principal:
        try:
            return await super().__call__(request, bearer, api_key)
        except AppError as refused:
            if refused.code is ErrorCode.UNAUTHENTICATED:
                raise AppError(
                    ErrorCode.UNAUTHENTICATED, "Invalid API key.", headers=refused.headers
                ) from None
            raise


Caller = Annotated[Principal, Security(OsminogAuth("monitors:read"))]


class Spike(BaseModel):
    datetime: str
    response_time_ms: float
    baseline_avg_ms: float
    diff_percent: float | None


class TaskStatus(BaseModel):
    task_id: str
    website: str
    uri: str
    http_code: int | None
    last_check: str | None
    response_time_ms: float | None
    min_ms: float | None
    max_ms: float | None
    avg_ms: float | None
    last_spike: Spike | None


class WebsiteTask(BaseModel):
    task_id: str
    uri: str
    http_method: str
    frequency_seconds: int
    concurrency: int
    execution_mode: str
    is_active: bool
    http_code: int | None
    last_check: str | None
    response_time_ms: float | None
    min_ms: float | None
    max_ms: float | None
    avg_ms: float | None
    last_spike: Spike | None


class WebsiteTasks(BaseModel):
    website_id: str
    domain: str
    is_verified: bool
    tasks: list[WebsiteTask]


def _uuid(value: str | None, name: str) -> UUID:
    try:
        return UUID(value or "")
    except ValueError:
        raise AppError(ErrorCode.VALIDATION_FAILED, f"{name} is required.") from None


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _seconds_z(moment: datetime | None) -> str | None:
    """Osminog's timestamps: ISO 8601, UTC, whole seconds, `Z`."""
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _performance(state: MonitorState) -> dict[str, Any]:
    count = state.latency_count
    spike = dict(state.last_spike) if state.last_spike else None
    if spike is not None:
        spike["datetime"] = _seconds_z(datetime.fromisoformat(spike["datetime"]))
    return {
        "http_code": state.last_status_code,
        "last_check": _seconds_z(state.last_check_at),
        "response_time_ms": _rounded(state.last_response_time_ms),
        "min_ms": _rounded(state.latency_min_ms),
        "max_ms": _rounded(state.latency_max_ms),
        "avg_ms": round(state.latency_sum_ms / count, 2) if count else None,
        "last_spike": Spike(**spike) if spike else None,
    }


def _site_and_uri(monitor: Monitor) -> tuple[str, str]:
    if monitor.kind == "http":
        parts = urlsplit(monitor.target)
        uri = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return (parts.hostname or ""), uri
    return monitor.target.rsplit(":", 1)[0], ""


@router.get(
    "/task/status",
    summary="Osminog: a task's status and performance summary",
    responses={400: {}, 401: {}, 404: {}},
)
async def task_status(
    principal: Caller,
    session: Session,
    task_id: Annotated[str | None, Query(description="The monitor's id")] = None,
) -> TaskStatus:
    wanted = _uuid(task_id, "task_id")
    row = (
        await session.execute(
            select(Monitor, MonitorState)
            .join(MonitorState, MonitorState.monitor_id == Monitor.id)
            .where(Monitor.organization_id == principal.organization_id)
            .where(Monitor.public_id == wanted)
        )
    ).first()
    if row is None:
        raise AppError(ErrorCode.NOT_FOUND, "Task not found.")
    monitor, state = row[0], row[1]
    website, uri = _site_and_uri(monitor)
    return TaskStatus(
        task_id=str(monitor.public_id), website=website, uri=uri, **_performance(state)
    )


@router.get(
    "/website/tasks",
    summary="Osminog: all tasks of a website with their status",
    responses={400: {}, 401: {}, 404: {}},
)
async def website_tasks(
    principal: Caller,
    session: Session,
    website_id: Annotated[str | None, Query(description="The website's id")] = None,
) -> WebsiteTasks:
    wanted = _uuid(website_id, "website_id")
    website = (
        await session.execute(
            select(Website).where(
                Website.organization_id == principal.organization_id, Website.public_id == wanted
            )
        )
    ).scalar_one_or_none()
    if website is None:
        raise AppError(ErrorCode.NOT_FOUND, "Website not found.")
    rows = await session.execute(
        select(Monitor, MonitorState)
        .join(MonitorState, MonitorState.monitor_id == Monitor.id)
        .where(Monitor.website_id == website.id)
        .order_by(Monitor.public_id)
    )
    tasks = []
    for monitor, state in rows.all():
        _, uri = _site_and_uri(monitor)
        tasks.append(
            WebsiteTask(
                task_id=str(monitor.public_id),
                uri=uri,
                http_method=str(monitor.config.get("method", "GET")),
                frequency_seconds=monitor.interval_seconds,
                concurrency=monitor.concurrency,
                execution_mode=monitor.execution_mode,
                is_active=monitor.is_active,
                **_performance(state),
            )
        )
    return WebsiteTasks(
        website_id=str(website.public_id),
        domain=website.domain,
        is_verified=website.verified_at is not None,
        tasks=tasks,
    )
