"""Incidents people manage: declare, acknowledge, update, resolve, write the post-mortem.
No commit here; every change is audited in the unit of work and emits its event there, so
webhook subscriptions and the event bus get it if, and only if, the change commits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from upwatch.audit import service as audit
from upwatch.core.errors import AppError, ErrorCode
from upwatch.db.unit_of_work import UnitOfWork
from upwatch.events import Event
from upwatch.incidents.auto import RESOLVED, incident_event
from upwatch.incidents.repository import IncidentRow
from upwatch.incidents.schemas import IncidentCreate, IncidentPatch, UpdateCreate
from upwatch.models import Incident, IncidentUpdate

AUDITED = ("title", "impact", "state")


def _event(event_type: str, row: IncidentRow) -> Event:
    event = incident_event(event_type, row.incident, None)
    for kind, public_id in (("monitor_id", row.monitor_id), ("heartbeat_id", row.heartbeat_id)):
        if public_id is not None:
            event.data[kind] = str(public_id)
    return event


def _author(actor: audit.Actor) -> str | None:
    return actor.email


def _record(
    session: AsyncSession,
    actor: audit.Actor,
    incident: Incident,
    action: str,
    changes: dict[str, Any],
    now: datetime,
) -> None:
    audit.record_for(session, actor, "incident", incident, action, changes, now)


def _entry(
    session: AsyncSession,
    incident: Incident,
    kind: str,
    body: str,
    *,
    public: bool,
    author: str | None,
    at: datetime,
) -> IncidentUpdate:
    entry = IncidentUpdate(
        incident_id=incident.id, kind=kind, state=incident.state, body=body,
        public=public, author=author, created_at=at,
    )  # fmt: skip
    session.add(entry)
    return entry


def _snapshot(incident: Incident) -> dict[str, Any]:
    return {name: getattr(incident, name) for name in AUDITED}


async def declare(
    work: UnitOfWork,
    actor: audit.Actor,
    *,
    organization_id: int,
    data: IncidentCreate,
    now: datetime,
) -> Incident:
    """A manual incident (something the checks cannot see, or a planned statement)."""
    session = work.session
    incident = Incident(
        organization_id=organization_id,
        title=data.title,
        impact=str(data.impact),
        state=str(data.state),
        auto_created=False,
        started_at=data.started_at or now,
        created_at=now,
        updated_at=now,
    )
    session.add(incident)
    await session.flush()
    body = data.message or "Incident declared."
    _entry(session, incident, "opened", body, public=data.public, author=_author(actor), at=now)
    _record(session, actor, incident, "incident.create", audit.created(_snapshot(incident)), now)
    work.emit(incident_event("incident.opened", incident, None))
    return incident


def _open(incident: Incident) -> None:
    if incident.state == RESOLVED:
        raise AppError(ErrorCode.CONFLICT, "The incident is resolved.")


def change(
    work: UnitOfWork, actor: audit.Actor, row: IncidentRow, data: IncidentPatch, now: datetime
) -> None:
    incident = row.incident
    _open(incident)
    before = _snapshot(incident)
    for name, value in data.model_dump(exclude_unset=True, exclude_none=True).items():
        setattr(incident, name, str(value))
    changes = audit.diff(before, _snapshot(incident))
    if not changes:
        return
    incident.updated_at = now
    _record(work.session, actor, incident, "incident.update", changes, now)
    work.emit(_event("incident.updated", row))


def acknowledge(work: UnitOfWork, actor: audit.Actor, row: IncidentRow, now: datetime) -> None:
    """Someone is on it: stops reminders and escalation. Acknowledging twice changes nothing."""
    incident, session = row.incident, work.session
    _open(incident)
    if incident.acknowledged_at is not None:
        return
    incident.acknowledged_at, incident.acknowledged_by = now, _author(actor) or "api"
    incident.updated_at = now
    body = f"Acknowledged by {incident.acknowledged_by}."
    _entry(session, incident, "acknowledged", body, public=False, author=_author(actor), at=now)
    changes = {"acknowledged_at": {"from": None, "to": now.isoformat()}}
    _record(session, actor, incident, "incident.acknowledge", changes, now)
    work.emit(_event("incident.acknowledged", row))


def resolve(
    work: UnitOfWork, actor: audit.Actor, row: IncidentRow, message: str | None, now: datetime
) -> None:
    incident, session = row.incident, work.session
    _open(incident)
    incident.state, incident.resolved_at = RESOLVED, now
    incident.resolved_by, incident.updated_at = _author(actor) or "api", now
    _entry(
        session, incident, "resolved", message or "Resolved.", public=True,
        author=_author(actor), at=now,
    )  # fmt: skip
    _record(session, actor, incident, "incident.resolve", {"state": {"to": RESOLVED}}, now)
    work.emit(_event("incident.resolved", row))


def add_update(
    work: UnitOfWork, actor: audit.Actor, row: IncidentRow, data: UpdateCreate, now: datetime
) -> IncidentUpdate:
    """A timeline entry (public: for status pages; internal: for the team); it may move the
    incident to another open state."""
    incident, session = row.incident, work.session
    _open(incident)
    if data.state is not None:
        incident.state = str(data.state)
    incident.updated_at = now
    entry = _entry(
        session, incident, "note", data.body, public=data.public, author=_author(actor), at=now
    )
    changes = {"update": {"to": data.body}, "public": {"to": data.public}}
    if data.state is not None:
        changes["state"] = {"to": str(data.state)}
    _record(session, actor, incident, "incident.update_posted", changes, now)
    work.emit(_event("incident.updated", row))
    return entry


def write_postmortem(
    work: UnitOfWork, actor: audit.Actor, row: IncidentRow, markdown: str, now: datetime
) -> None:
    incident = row.incident
    before = incident.postmortem
    incident.postmortem, incident.updated_at = markdown, now
    _record(
        work.session, actor, incident, "incident.postmortem",
        {"postmortem": {"from": before, "to": markdown}}, now,
    )  # fmt: skip
    work.emit(_event("incident.updated", row))
