"""A heartbeat's history: pings, runs, statistics and daily uptime."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime, timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel

from upwatch.api.auth import require
from upwatch.api.deps import Session, State
from upwatch.api.pagination import CursorParam, Limit, Pagination
from upwatch.api.params import aware
from upwatch.api.routes.heartbeats import find
from upwatch.core.errors import AppError, ErrorCode, FieldError
from upwatch.core.principal import Principal
from upwatch.crypto import SecretBox
from upwatch.crypto.box import DecryptionError
from upwatch.heartbeats import repository, stats
from upwatch.heartbeats.machine import PingKind, RunOutcome
from upwatch.heartbeats.schemas import DailyHeartbeatUptime, HeartbeatStats, PingRead, RunRead
from upwatch.models import HeartbeatPing, HeartbeatRun
from upwatch.schema import Timestamp

router = APIRouter(prefix="/api/v1/heartbeats", tags=["heartbeats"])
Reader = Annotated[Principal, require("heartbeats:read")]
MAX_DAYS = 90


class PingPage(BaseModel):
    data: list[PingRead]
    pagination: Pagination


class RunPage(BaseModel):
    data: list[RunRead]
    pagination: Pagination


class DailyHeartbeatUptimeList(BaseModel):
    data: list[DailyHeartbeatUptime]


def _encode(box: SecretBox, row_id: int | None) -> str | None:
    """The position after the last row of the page, sealed: pings and runs may share a
    timestamp, so only the row order pages them, and that integer must not leave the server."""
    if row_id is None:
        return None
    return base64.urlsafe_b64encode(box.encrypt(str(row_id).encode())).decode().rstrip("=")


def _decode(box: SecretBox, cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return int(box.decrypt(raw).decode())
    except (ValueError, UnicodeDecodeError, binascii.Error, DecryptionError):
        raise AppError(
            ErrorCode.VALIDATION_FAILED,
            fields=[FieldError("cursor", "invalid", "is not a cursor this API returned")],
        ) from None


def _ping(row: HeartbeatPing, with_body: bool) -> PingRead:
    return PingRead(
        received_at=row.received_at,
        kind=PingKind(row.kind),
        exit_code=row.exit_code,
        rid=row.rid,
        method=row.method,
        source_ip=row.source_ip,
        user_agent=row.user_agent,
        duration_ms=row.duration_ms,
        body_size=None if row.body is None else len(row.body),
        body_truncated=row.body_truncated,
        body=row.body if with_body else None,
    )


def _run(row: HeartbeatRun) -> RunRead:
    return RunRead(
        rid=row.rid,
        started_at=row.started_at,
        ended_at=row.ended_at,
        duration_ms=row.duration_ms,
        outcome=RunOutcome(row.outcome),
        exit_code=row.exit_code,
    )


@router.get("/{heartbeat_id}/pings", summary="Pings received, newest first")
async def list_pings(
    heartbeat_id: UUID,
    principal: Reader,
    session: Session,
    state: State,
    limit: Limit = 25,
    cursor: CursorParam = None,
    include_body: Annotated[bool, Query(description="Add each ping's stored body")] = False,
) -> PingPage:
    row = await find(session, principal, heartbeat_id)
    pings, last = await repository.pings_page(
        session, row.heartbeat.id, before=_decode(state.cursor_box, cursor), limit=limit
    )
    return PingPage(
        data=[_ping(ping, include_body) for ping in pings],
        pagination=Pagination(limit=limit, next_cursor=_encode(state.cursor_box, last)),
    )


@router.get("/{heartbeat_id}/runs", summary="Runs (start → end), newest first")
async def list_runs(
    heartbeat_id: UUID,
    principal: Reader,
    session: Session,
    state: State,
    limit: Limit = 25,
    cursor: CursorParam = None,
) -> RunPage:
    row = await find(session, principal, heartbeat_id)
    runs, last = await repository.runs_page(
        session, row.heartbeat.id, before=_decode(state.cursor_box, cursor), limit=limit
    )
    return RunPage(
        data=[_run(run) for run in runs],
        pagination=Pagination(limit=limit, next_cursor=_encode(state.cursor_box, last)),
    )


@router.get("/{heartbeat_id}/stats", summary="Uptime, runs and durations over a period")
async def heartbeat_stats(
    heartbeat_id: UUID,
    principal: Reader,
    session: Session,
    state: State,
    from_: Annotated[
        Timestamp | None, Query(alias="from", description="Default: 30 days ago")
    ] = None,
    to: Annotated[Timestamp | None, Query(description="Default: now")] = None,
) -> HeartbeatStats:
    row = await find(session, principal, heartbeat_id)
    until = aware("to", to) or state.clock.now()
    since = aware("from", from_) or until - timedelta(days=30)
    if since >= until:
        raise AppError(
            ErrorCode.VALIDATION_FAILED,
            fields=[FieldError("from", "invalid", "must be before `to`")],
        )
    heartbeat_id_ = row.heartbeat.id
    start, changes = await repository.state_changes(
        session, heartbeat_id_, since=since, until=until
    )
    uptime = stats.uptime(start, changes, since, until)
    figures = await repository.run_figures(session, heartbeat_id_, since=since, until=until)
    outcomes = figures.by_outcome
    return HeartbeatStats(
        since=since,
        until=until,
        uptime_percent=uptime.percent,
        downtime_seconds=round(uptime.down_seconds, 3),
        pings=await repository.ping_count(session, heartbeat_id_, since=since, until=until),
        runs=figures.runs,
        successes=outcomes.get("success", 0),
        failures=outcomes.get("failure", 0),
        timeouts=outcomes.get("timeout", 0),
        in_progress=outcomes.get("in_progress", 0),
        min_duration_ms=figures.min_ms,
        max_duration_ms=figures.max_ms,
        avg_duration_ms=figures.avg_ms,
        p50_duration_ms=figures.p50_ms,
        p95_duration_ms=figures.p95_ms,
    )


@router.get("/{heartbeat_id}/uptime/daily", summary="Uptime and runs per UTC day, oldest first")
async def daily_uptime(
    heartbeat_id: UUID,
    principal: Reader,
    session: Session,
    state: State,
    days: Annotated[int, Query(ge=1, le=MAX_DAYS)] = 30,
) -> DailyHeartbeatUptimeList:
    row = await find(session, principal, heartbeat_id)
    now = state.clock.now()
    today = datetime(now.year, now.month, now.day, tzinfo=UTC)
    first = today - timedelta(days=days - 1)
    start, changes = await repository.state_changes(
        session, row.heartbeat.id, since=first, until=now
    )
    runs = await repository.daily_runs(session, row.heartbeat.id, since=first, until=now)
    data = []
    for day, uptime in stats.days(start, changes, first, days, now):
        date = day.date().isoformat()
        count, failed = runs.get(date, (0, 0))
        data.append(
            DailyHeartbeatUptime(
                date=date,
                uptime_percent=uptime.percent,
                downtime_seconds=round(uptime.down_seconds, 3),
                runs=count,
                failures=failed,
            )
        )
    return DailyHeartbeatUptimeList(data=data)
