"""Maintenance windows and silences: validation (one shape per window, ids of this
organization), storage (audited) and their API views."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError
from dateutil.rrule import rrulestr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from upwatch.audit import service as audit
from upwatch.core.errors import AppError, ErrorCode, FieldError
from upwatch.models import Heartbeat, MaintenanceWindow, Monitor, MonitorGroup, Silence
from upwatch.notify.calendar import Window
from upwatch.notify.schemas import SilenceCreate, SilenceView, WindowCreate, WindowView


def _invalid(path: str, code: str, message: str) -> AppError:
    return AppError(ErrorCode.VALIDATION_FAILED, fields=[FieldError(path, code, message)])


async def _check_ids(
    session: AsyncSession, organization_id: int, model: Any, ids: list[UUID], field: str
) -> list[str]:
    if not ids:
        return []
    query = select(model.public_id).where(
        model.organization_id == organization_id, model.public_id.in_(ids)
    )
    found = set((await session.execute(query)).scalars())
    for index, public_id in enumerate(ids):
        if public_id not in found:
            raise _invalid(f"{field}[{index}]", "not_found", "no such resource")
    return [str(public_id) for public_id in dict.fromkeys(ids)]


def _check_schedule(data: WindowCreate) -> None:
    try:
        zone = ZoneInfo(data.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise _invalid("timezone", "invalid", "not an IANA time zone") from None
    recurring = data.cron is not None or data.rrule is not None
    if data.cron is not None and data.rrule is not None:
        raise _invalid("rrule", "conflict", "give cron or rrule, not both")
    if recurring:
        if data.duration_minutes is None:
            raise _invalid("duration_minutes", "required", "recurring windows need a duration")
        if data.ends_at is not None:
            raise _invalid("ends_at", "conflict", "recurring windows use duration_minutes")
    elif data.ends_at is None:
        raise _invalid("ends_at", "required", "give ends_at (one-off) or cron/rrule (recurring)")
    elif data.ends_at <= data.starts_at:
        raise _invalid("ends_at", "invalid", "must be after starts_at")
    if data.cron is not None:
        try:
            CronSim(data.cron, data.starts_at.astimezone(zone))
        except CronSimError as exc:
            raise _invalid("cron", "invalid", str(exc)) from None
    if data.rrule is not None:
        try:
            rrulestr(data.rrule, dtstart=data.starts_at.astimezone(zone))
        except (ValueError, TypeError) as exc:
            raise _invalid("rrule", "invalid", str(exc) or "not an RRULE") from None


async def save_window(
    session: AsyncSession,
    actor: audit.Actor,
    organization_id: int,
    data: WindowCreate,
    now: datetime,
    window: MaintenanceWindow | None = None,
) -> MaintenanceWindow:
    """Create (window None) or replace a window; audited."""
    _check_schedule(data)
    has_scope = data.monitor_ids or data.heartbeat_ids or data.tags or data.group_ids
    if not data.all_subjects and not has_scope:
        raise _invalid(
            "monitor_ids", "required", "name monitors, heartbeats, tags or groups, or all_subjects"
        )
    values = {
        "title": data.title, "description": data.description, "starts_at": data.starts_at,
        "ends_at": data.ends_at, "cron": data.cron, "rrule": data.rrule,
        "duration_minutes": data.duration_minutes, "timezone": data.timezone,
        "until": data.until, "all_subjects": data.all_subjects,
        "monitor_ids": await _check_ids(session, organization_id, Monitor, data.monitor_ids,
                                        "monitor_ids"),
        "heartbeat_ids": await _check_ids(session, organization_id, Heartbeat,
                                          data.heartbeat_ids, "heartbeat_ids"),
        "tags": sorted(set(data.tags)),
        "group_ids": await _check_ids(session, organization_id, MonitorGroup, data.group_ids,
                                      "group_ids"),
        "notify": data.notify,
    }  # fmt: skip
    if window is None:
        window = MaintenanceWindow(organization_id=organization_id, created_at=now, **values)
        window.updated_at = now
        session.add(window)
        await session.flush()
        changes = audit.created({k: _jsonable(v) for k, v in values.items()})
        action = "maintenance_window.create"
    else:
        changes = audit.diff(
            {k: _jsonable(getattr(window, k)) for k in values},
            {k: _jsonable(v) for k, v in values.items()},
        )
        for key, value in values.items():
            setattr(window, key, value)
        window.updated_at = now
        action = "maintenance_window.update"
    audit.record_for(session, actor, "maintenance_window", window, action, changes, now)
    return window


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def window_view(row: MaintenanceWindow, now: datetime) -> WindowView:
    window = Window.of(row)
    current = window.occurrence_at(now)
    return WindowView(
        id=row.public_id, title=row.title, description=row.description,
        starts_at=row.starts_at, ends_at=row.ends_at, cron=row.cron, rrule=row.rrule,
        duration_minutes=row.duration_minutes, timezone=row.timezone, until=row.until,
        all_subjects=row.all_subjects, monitor_ids=row.monitor_ids,
        heartbeat_ids=row.heartbeat_ids, tags=row.tags, group_ids=row.group_ids,
        notify=row.notify, active=current is not None,
        current_ends_at=None if current is None else current[1],
        next_starts_at=window.next_start_after(now),
        created_at=row.created_at, updated_at=row.updated_at,
    )  # fmt: skip


async def create_silence(
    session: AsyncSession,
    actor: audit.Actor,
    organization_id: int,
    data: SilenceCreate,
    now: datetime,
) -> Silence:
    starts_at = data.starts_at or now
    if data.ends_at <= starts_at:
        raise _invalid("ends_at", "invalid", "must be after starts_at")
    silence = Silence(
        organization_id=organization_id, comment=data.comment, starts_at=starts_at,
        ends_at=data.ends_at,
        monitor_ids=await _check_ids(session, organization_id, Monitor, data.monitor_ids,
                                     "monitor_ids"),
        heartbeat_ids=await _check_ids(session, organization_id, Heartbeat, data.heartbeat_ids,
                                       "heartbeat_ids"),
        tags=sorted(set(data.tags)), alert_kinds=sorted({str(k) for k in data.alert_kinds}),
        max_impact=data.max_impact, created_by=actor.email, created_at=now,
    )  # fmt: skip
    session.add(silence)
    await session.flush()
    changes = audit.created({"comment": data.comment})
    audit.record_for(session, actor, "silence", silence, "silence.create", changes, now)
    return silence


def silence_view(silence: Silence, now: datetime) -> SilenceView:
    return SilenceView(
        id=silence.public_id, comment=silence.comment, starts_at=silence.starts_at,
        ends_at=silence.ends_at, active=silence.starts_at <= now < silence.ends_at,
        monitor_ids=silence.monitor_ids, heartbeat_ids=silence.heartbeat_ids, tags=silence.tags,
        alert_kinds=silence.alert_kinds, max_impact=silence.max_impact,
        created_by=silence.created_by, created_at=silence.created_at,
    )  # fmt: skip
