"""Planning, replacing and deleting maintenance windows: one shape per window (one-off or
recurring by cron or RRULE), ids of this organization only; every change is audited."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError
from dateutil.rrule import rrulestr
from sqlalchemy.ext.asyncio import AsyncSession

from upwatch.audit import service as audit
from upwatch.models import Heartbeat, MaintenanceWindow, Monitor, MonitorGroup
from upwatch.notify.maintenance.repository import WindowRepository
from upwatch.notify.schemas import WindowCreate
from upwatch.notify.targets import checked_ids, invalid

RESOURCE = "maintenance_window"


def _check_schedule(data: WindowCreate) -> None:
    try:
        zone = ZoneInfo(data.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise invalid("timezone", "invalid", "not an IANA time zone") from None
    recurring = data.cron is not None or data.rrule is not None
    if data.cron is not None and data.rrule is not None:
        raise invalid("rrule", "conflict", "give cron or rrule, not both")
    if recurring:
        if data.duration_minutes is None:
            raise invalid("duration_minutes", "required", "recurring windows need a duration")
        if data.ends_at is not None:
            raise invalid("ends_at", "conflict", "recurring windows use duration_minutes")
    elif data.ends_at is None:
        raise invalid("ends_at", "required", "give ends_at (one-off) or cron/rrule (recurring)")
    elif data.ends_at <= data.starts_at:
        raise invalid("ends_at", "invalid", "must be after starts_at")
    if data.cron is not None:
        try:
            CronSim(data.cron, data.starts_at.astimezone(zone))
        except CronSimError as exc:
            raise invalid("cron", "invalid", str(exc)) from None
    if data.rrule is not None:
        try:
            rrulestr(data.rrule, dtstart=data.starts_at.astimezone(zone))
        except (ValueError, TypeError) as exc:
            raise invalid("rrule", "invalid", str(exc) or "not an RRULE") from None


async def _values(
    session: AsyncSession, organization_id: int, data: WindowCreate
) -> dict[str, Any]:
    """The columns `data` sets, once it is checked."""
    _check_schedule(data)
    has_scope = data.monitor_ids or data.heartbeat_ids or data.tags or data.group_ids
    if not data.all_subjects and not has_scope:
        raise invalid(
            "monitor_ids", "required", "name monitors, heartbeats, tags or groups, or all_subjects"
        )
    return {
        "title": data.title, "description": data.description, "starts_at": data.starts_at,
        "ends_at": data.ends_at, "cron": data.cron, "rrule": data.rrule,
        "duration_minutes": data.duration_minutes, "timezone": data.timezone,
        "until": data.until, "all_subjects": data.all_subjects,
        "monitor_ids": await checked_ids(session, organization_id, Monitor, data.monitor_ids,
                                         "monitor_ids"),
        "heartbeat_ids": await checked_ids(session, organization_id, Heartbeat,
                                           data.heartbeat_ids, "heartbeat_ids"),
        "tags": sorted(set(data.tags)),
        "group_ids": await checked_ids(session, organization_id, MonitorGroup, data.group_ids,
                                       "group_ids"),
        "notify": data.notify,
    }  # fmt: skip


async def create(
    session: AsyncSession,
    actor: audit.Actor,
    organization_id: int,
    data: WindowCreate,
    now: datetime,
) -> MaintenanceWindow:
    values = await _values(session, organization_id, data)
    window = MaintenanceWindow(organization_id=organization_id, created_at=now, **values)
    window.updated_at = now
    await WindowRepository(session).add(window)
    changes = audit.created({k: _jsonable(v) for k, v in values.items()})
    audit.record_for(session, actor, RESOURCE, window, "maintenance_window.create", changes, now)
    return window


async def replace(
    session: AsyncSession,
    actor: audit.Actor,
    window: MaintenanceWindow,
    data: WindowCreate,
    now: datetime,
) -> None:
    values = await _values(session, window.organization_id, data)
    changes = audit.diff(
        {k: _jsonable(getattr(window, k)) for k in values},
        {k: _jsonable(v) for k, v in values.items()},
    )
    for key, value in values.items():
        setattr(window, key, value)
    window.updated_at = now
    audit.record_for(session, actor, RESOURCE, window, "maintenance_window.update", changes, now)


async def delete(
    session: AsyncSession, actor: audit.Actor, window: MaintenanceWindow, now: datetime
) -> None:
    """Delete the window (an occurrence in progress ends now)."""
    await audit.delete_recorded(
        session, actor, RESOURCE, window, "maintenance_window.delete", {}, now
    )


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value
