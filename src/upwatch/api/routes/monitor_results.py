"""A monitor's results: run now, raw checks (JSON or CSV), statistics, timeline, daily bars."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from upwatch.api.auth import require
from upwatch.api.csv import csv_line
from upwatch.api.deps import Session, State
from upwatch.api.pagination import Limit, Pagination
from upwatch.api.params import aware
from upwatch.core.clock import isoformat_z
from upwatch.core.errors import AppError, ErrorCode, FieldError
from upwatch.core.principal import Principal
from upwatch.models import CheckResult
from upwatch.monitors import repository, service, stats, views
from upwatch.monitors.schemas import MonitorDetail
from upwatch.schema import Timestamp

router = APIRouter(prefix="/api/v1/monitors", tags=["results"])
Reader = Annotated[Principal, require("monitors:read")]
WINDOWS = {"1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400, "90d": 90 * 86400}
Window = Literal["1h", "24h", "7d", "30d", "90d", "all"]
CSV_PAGE = 1000


class Phases(BaseModel):
    dns_ms: float | None
    connect_ms: float | None
    tls_ms: float | None
    ttfb_ms: float | None
    transfer_ms: float | None


class CheckRead(BaseModel):
    checked_at: Timestamp
    scheduled_at: Timestamp
    ok: bool
    status: str = Field(description="The monitor's status after this check.")
    latency_ms: float | None
    status_code: int | None
    error_code: str | None
    reason: str | None
    phases: Phases
    requests: int
    failed_requests: int
    details: dict[str, Any] | None = Field(
        description="What the probe saw, by kind (e.g. DNS answers, the address connected "
        "to, the final URL); null when it saw nothing worth keeping. At most 4 KiB: larger "
        'details are stored as `{"truncated": true, "bytes": <size>}`.'
    )

    @classmethod
    def of(cls, row: CheckResult) -> CheckRead:
        return cls(
            checked_at=row.checked_at,
            scheduled_at=row.scheduled_at,
            ok=row.ok,
            status=row.status,
            latency_ms=row.latency_ms,
            status_code=row.status_code,
            error_code=row.error_code,
            reason=row.reason,
            phases=Phases(
                dns_ms=row.dns_ms,
                connect_ms=row.connect_ms,
                tls_ms=row.tls_ms,
                ttfb_ms=row.ttfb_ms,
                transfer_ms=row.transfer_ms,
            ),
            requests=row.requests,
            failed_requests=row.failed_requests,
            details=row.details,
        )


class CheckPage(BaseModel):
    data: list[CheckRead]
    pagination: Pagination


class RunResult(BaseModel):
    check: CheckRead
    monitor: MonitorDetail


ExcludeMaintenance = Annotated[
    bool,
    Query(description="Leave checks made during maintenance out of the counts and uptime."),
]


class Stats(BaseModel):
    window: str
    since: Timestamp | None
    until: Timestamp
    checks: int
    failures: int
    maintenance_checks: int = Field(
        description="Checks made during maintenance (left out of `checks` and `failures` "
        "with `exclude_maintenance=true`)."
    )
    uptime_percent: float | None
    min_ms: float | None
    max_ms: float | None
    avg_ms: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None


class TimelineBucket(BaseModel):
    start: Timestamp
    checks: int
    failures: int
    uptime_percent: float | None
    avg_ms: float | None
    p95_ms: float | None
    max_ms: float | None


class Timeline(BaseModel):
    window: str
    bucket_seconds: int
    buckets: list[TimelineBucket]


class DailyUptime(BaseModel):
    date: str
    checks: int
    failures: int
    uptime_percent: float | None


class DailyUptimeList(BaseModel):
    data: list[DailyUptime]


@router.post(
    "/{monitor_id}/run",
    summary="Check now and return the result (on-demand monitors run only this way)",
)
async def run_monitor(
    monitor_id: UUID,
    principal: Annotated[Principal, require("monitors:write")],
    state: State,
) -> RunResult:
    # Read-only sessions around the run: the engine's writer records the result, and on
    # SQLite a write transaction held here would lock it out.
    async with state.database.session() as session:
        row = await service.find(session, principal.organization_id, monitor_id)
    record = await state.engine.run_now(row.monitor.id)
    async with state.database.session() as session:
        checks, _ = await repository.checks_page(
            session, row.monitor.id, since=record.checked_at, until=None, before=None, limit=1
        )
        refreshed = await service.find(session, principal.organization_id, monitor_id)
    return RunResult(check=CheckRead.of(checks[0]), monitor=views.detail(refreshed))


def _encode(moment: datetime | None) -> str | None:
    return (
        None if moment is None else base64.urlsafe_b64encode(moment.isoformat().encode()).decode()
    )


def _decode(cursor: str | None) -> datetime | None:
    if not cursor:
        return None
    try:
        return datetime.fromisoformat(base64.urlsafe_b64decode(cursor.encode()).decode())
    except (ValueError, UnicodeDecodeError):
        raise AppError(
            ErrorCode.VALIDATION_FAILED,
            fields=[FieldError("cursor", "invalid", "is not a cursor this API returned")],
        ) from None


@router.get(
    "/{monitor_id}/checks",
    summary="Raw check results, newest first (kept UPWATCH_RESULT_RETENTION_DAYS)",
    response_model=CheckPage,
    responses={200: {"content": {"text/csv": {}}, "description": "JSON page, or CSV"}},
)
async def list_checks(
    monitor_id: UUID,
    principal: Reader,
    session: Session,
    state: State,
    limit: Limit = 25,
    cursor: Annotated[str | None, Query()] = None,
    from_: Annotated[Timestamp | None, Query(alias="from")] = None,
    to: Timestamp | None = None,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> CheckPage | StreamingResponse:
    row = await service.find(session, principal.organization_id, monitor_id)
    since, until = aware("from", from_), aware("to", to)
    if format == "csv":
        return StreamingResponse(
            _csv(state, row.monitor.id, since, until),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="checks-{monitor_id}.csv"'},
        )
    rows, next_at = await repository.checks_page(
        session, row.monitor.id, since=since, until=until, before=_decode(cursor), limit=limit
    )
    return CheckPage(
        data=[CheckRead.of(item) for item in rows],
        pagination=Pagination(limit=limit, next_cursor=_encode(next_at)),
    )


CSV_COLUMNS = [
    "checked_at", "scheduled_at", "ok", "status", "latency_ms", "status_code", "error_code",
    "reason", "dns_ms", "connect_ms", "tls_ms", "ttfb_ms", "transfer_ms", "requests",
    "failed_requests",
]  # fmt: skip


async def _csv(
    state: State, monitor_id: int, since: datetime | None, until: datetime | None
) -> AsyncIterator[str]:
    yield csv_line(CSV_COLUMNS)
    before: datetime | None = None
    while True:
        async with state.database.session() as session:
            rows, before = await repository.checks_page(
                session, monitor_id, since=since, until=until, before=before, limit=CSV_PAGE
            )
        for item in rows:
            values: list[Any] = [getattr(item, column) for column in CSV_COLUMNS]
            values[0], values[1] = isoformat_z(item.checked_at), isoformat_z(item.scheduled_at)
            yield csv_line(values)
        if before is None:
            return


def _window(window: Window, now: datetime, created_at: datetime) -> tuple[datetime, datetime]:
    """[start, end) minute-aligned: the last minute counts once it is over... and the current
    one too, so a fresh result shows at once."""
    end = stats.floor_to(now, stats.MINUTE) + timedelta(minutes=1)
    if window == "all":
        return stats.floor_to(created_at, stats.MINUTE), end
    return end - timedelta(seconds=WINDOWS[window]), end


@router.get("/{monitor_id}/stats", summary="Uptime and response-time statistics of a window")
async def monitor_stats(
    monitor_id: UUID,
    principal: Reader,
    session: Session,
    state: State,
    window: Window = "24h",
    exclude_maintenance: ExcludeMaintenance = False,
) -> Stats:
    row = await service.find(session, principal.organization_id, monitor_id)
    start, end = _window(window, state.clock.now(), row.monitor.created_at)
    totals = stats.total(await stats.rollups_between(session, row.monitor.id, start, end))
    return Stats(
        window=window, since=start, until=end, maintenance_checks=totals.maintenance_checks,
        **totals.summary(exclude_maintenance=exclude_maintenance),
    )  # fmt: skip


def _bucket_seconds(window_seconds: int, buckets: int) -> int:
    """At least window/buckets, rounded up to whole minutes, hours or days."""
    raw = max(60, -(-window_seconds // buckets))
    for unit in (stats.DAY, stats.HOUR, stats.MINUTE):
        if raw >= unit:
            return -(-raw // unit) * unit
    return stats.MINUTE


@router.get("/{monitor_id}/timeline", summary="Bucketed uptime and latency, for charts")
async def monitor_timeline(
    monitor_id: UUID,
    principal: Reader,
    session: Session,
    state: State,
    window: Window = "24h",
    buckets: Annotated[int, Query(ge=1, le=500)] = 60,
    exclude_maintenance: ExcludeMaintenance = False,
) -> Timeline:
    row = await service.find(session, principal.organization_id, monitor_id)
    start, end = _window(window, state.clock.now(), row.monitor.created_at)
    size = _bucket_seconds(int((end - start).total_seconds()), buckets)
    resolution = next(r for r in (stats.DAY, stats.HOUR, stats.MINUTE) if size % r == 0)
    first = stats.floor_to(start, size)
    rows = await stats.rollups_of(session, row.monitor.id, resolution, first, end)
    grouped: dict[datetime, list[Any]] = {}
    for rollup in rows:
        grouped.setdefault(stats.floor_to(rollup.bucket_start, size), []).append(rollup)
    result = []
    moment = first
    while moment < end:
        summary = stats.total(grouped.get(moment, [])).summary(
            exclude_maintenance=exclude_maintenance
        )
        result.append(
            TimelineBucket(
                start=moment,
                checks=summary["checks"],
                failures=summary["failures"],
                uptime_percent=summary["uptime_percent"],
                avg_ms=summary["avg_ms"],
                p95_ms=summary["p95_ms"],
                max_ms=summary["max_ms"],
            )
        )
        moment += timedelta(seconds=size)
    return Timeline(window=window, bucket_seconds=size, buckets=result)


@router.get("/{monitor_id}/uptime/daily", summary="Uptime per UTC day, oldest first")
async def monitor_daily_uptime(
    monitor_id: UUID,
    principal: Reader,
    session: Session,
    state: State,
    days: Annotated[int, Query(ge=1, le=400)] = 90,
    exclude_maintenance: ExcludeMaintenance = False,
) -> DailyUptimeList:
    row = await service.find(session, principal.organization_id, monitor_id)
    today = stats.floor_to(state.clock.now(), stats.DAY)
    start = today - timedelta(days=days - 1)
    rows = await stats.rollups_of(
        session, row.monitor.id, stats.DAY, start, today + timedelta(days=1)
    )
    by_day = {rollup.bucket_start: rollup for rollup in rows}
    data = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        summary = stats.total([by_day[day]] if day in by_day else []).summary(
            exclude_maintenance=exclude_maintenance
        )
        data.append(
            DailyUptime(
                date=day.date().isoformat(),
                checks=summary["checks"],
                failures=summary["failures"],
                uptime_percent=summary["uptime_percent"],
            )
        )
    return DailyUptimeList(data=data)
