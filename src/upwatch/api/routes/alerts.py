"""`/api/v1/alerts`: what fired, when, and where it was delivered."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import select

from upwatch.api.auth import require
from upwatch.api.deps import Session
from upwatch.api.pagination import CursorParam, Limit, Pagination, decode_cursor, pagination
from upwatch.core.principal import Principal
from upwatch.db.pagination import keyset_page
from upwatch.models import Alert, Heartbeat, Incident, Monitor, Notification
from upwatch.notify.deliveries import views_of
from upwatch.notify.kinds_alert import PROBLEMS, AlertKind
from upwatch.notify.schemas import AlertView

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])
Reader = Annotated[Principal, require("incidents:read")]


class AlertList(BaseModel):
    data: list[AlertView]
    pagination: Pagination


async def _page(
    session: Session, principal: Principal, *conditions: object, limit: int, after: UUID | None
) -> AlertList:
    query = (
        select(Alert, Monitor.public_id, Heartbeat.public_id, Incident.public_id)
        .outerjoin(Monitor, Monitor.id == Alert.monitor_id)
        .outerjoin(Heartbeat, Heartbeat.id == Alert.heartbeat_id)
        .outerjoin(Incident, Incident.id == Alert.incident_id)
        .where(Alert.organization_id == principal.organization_id, *conditions)  # type: ignore[arg-type]
    )
    rows, next_key = await keyset_page(session, query, Alert.public_id, limit=limit, after=after)
    alert_ids = [row[0].id for row in rows]
    notifications = (
        list(
            (
                await session.execute(
                    select(Notification)
                    .where(Notification.alert_id.in_(alert_ids))
                    .order_by(Notification.id)
                )
            ).scalars()
        )
        if alert_ids
        else []
    )
    views = await views_of(session, notifications)
    by_alert: dict[int, list[int]] = {}
    for index, notification in enumerate(notifications):
        assert notification.alert_id is not None
        by_alert.setdefault(notification.alert_id, []).append(index)
    data = [
        AlertView(
            id=alert.public_id, kind=alert.kind, impact=alert.impact, title=alert.title,
            reason=alert.reason, monitor_id=monitor_id, heartbeat_id=heartbeat_id,
            incident_id=incident_id, outcome=alert.outcome, suppressed_by=alert.suppressed_by,
            created_at=alert.created_at, late=alert.late, resolved_at=alert.resolved_at,
            deliveries=[views[i] for i in by_alert.get(alert.id, [])],
        )
        for alert, monitor_id, heartbeat_id, incident_id in rows
    ]  # fmt: skip
    return AlertList(data=data, pagination=pagination(limit, next_key))


@router.get("", summary="Alerts, newest first, with their deliveries")
async def list_alerts(
    principal: Reader,
    session: Session,
    limit: Limit = 25,
    cursor: CursorParam = None,
    kind: Annotated[AlertKind | None, Query()] = None,
    outcome: Annotated[
        str | None, Query(pattern="^(notified|silenced|suppressed|unrouted)$")
    ] = None,
) -> AlertList:
    conditions = []
    if kind is not None:
        conditions.append(Alert.kind == str(kind))
    if outcome is not None:
        conditions.append(Alert.outcome == outcome)
    return await _page(session, principal, *conditions, limit=limit, after=decode_cursor(cursor))


@router.get("/active", summary="Problems still going on (down, missed), newest first")
async def list_active_alerts(
    principal: Reader, session: Session, limit: Limit = 25, cursor: CursorParam = None
) -> AlertList:
    return await _page(
        session, principal,
        Alert.kind.in_([str(kind) for kind in PROBLEMS]), Alert.resolved_at.is_(None),
        limit=limit, after=decode_cursor(cursor),
    )  # fmt: skip
