"""Incidents that follow state changes, in the transaction that stores the change.

A change to `down` opens an incident for its monitor or heartbeat unless one is open (the
database allows one open incident per subject); a change back to `up` or `degraded`
resolves it (`auto_resolved`). `notify.alerting` decides when (maintenance windows and
dependencies suppress new incidents) and calls these.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from upwatch.core.clock import isoformat_z
from upwatch.events import Event
from upwatch.models import Incident, IncidentUpdate

RESOLVED = "resolved"
DEFAULT_IMPACT = "major"


@dataclass(frozen=True, slots=True)
class Subject:
    kind: Literal["monitor", "heartbeat"]
    id: int
    public_id: UUID
    organization_id: int
    name: str


@dataclass(frozen=True, slots=True)
class Change:
    subject: Subject
    from_status: str
    to_status: str
    reason: str
    at: datetime
    missed: bool = False  # a heartbeat's deadline passed (rather than a failure ping)


def _source(subject: Subject) -> Any:
    column = Incident.monitor_id if subject.kind == "monitor" else Incident.heartbeat_id
    return column == subject.id


async def _current(session: AsyncSession, subject: Subject) -> Incident | None:
    query = select(Incident).where(_source(subject), Incident.state != RESOLVED)
    return (await session.execute(query)).scalar_one_or_none()


async def open_incident(session: AsyncSession, change: Change) -> Incident | None:
    subject = change.subject
    if await _current(session, subject) is not None:
        return None
    incident = Incident(
        organization_id=subject.organization_id,
        title=f"{subject.name} is down",
        impact=DEFAULT_IMPACT,
        state="investigating",
        monitor_id=subject.id if subject.kind == "monitor" else None,
        heartbeat_id=subject.id if subject.kind == "heartbeat" else None,
        cause=change.reason,
        auto_created=True,
        started_at=change.at,
        created_at=change.at,
        updated_at=change.at,
    )
    session.add(incident)
    await session.flush()
    _timeline(session, incident, "opened", change.reason, change.at)
    return incident


async def resolve_incident(session: AsyncSession, change: Change) -> Incident | None:
    incident = await _current(session, change.subject)
    if incident is None:
        return None
    incident.state, incident.auto_resolved = RESOLVED, True
    incident.resolved_at = incident.updated_at = change.at
    _timeline(session, incident, "resolved", f"recovered: {change.reason}", change.at)
    await session.flush()
    return incident


def _timeline(
    session: AsyncSession, incident: Incident, kind: str, body: str, at: datetime
) -> None:
    session.add(
        IncidentUpdate(
            incident_id=incident.id, kind=kind, state=incident.state, body=body,
            public=False, author=None, created_at=at,
        )
    )  # fmt: skip


def incident_event(event_type: str, incident: Incident, subject: Subject | None) -> Event:
    data: dict[str, Any] = {
        "incident_id": str(incident.public_id),
        "title": incident.title,
        "impact": incident.impact,
        "state": incident.state,
        "cause": incident.cause,
        "started_at": isoformat_z(incident.started_at),
        "resolved_at": None if incident.resolved_at is None else isoformat_z(incident.resolved_at),
        "auto_resolved": incident.auto_resolved,
    }
    if subject is not None:
        data[f"{subject.kind}_id"] = str(subject.public_id)
    return Event(
        type=event_type,
        organization_id=incident.organization_id,
        created_at=incident.updated_at,
        resource_id=str(incident.public_id),
        data=data,
    )
