"""Queries for incidents and their timelines."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from upwatch.db.pagination import keyset_page
from upwatch.models import Heartbeat, Incident, IncidentUpdate, Monitor


@dataclass(frozen=True, slots=True)
class IncidentRow:
    incident: Incident
    monitor_id: UUID | None
    heartbeat_id: UUID | None


@dataclass(frozen=True, slots=True)
class IncidentFilter:
    state: str | None = None
    open: bool | None = None
    monitor_id: UUID | None = None
    heartbeat_id: UUID | None = None


_Monitor = aliased(Monitor)
_Heartbeat = aliased(Heartbeat)


def _base(organization_id: int) -> Select[Incident, UUID, UUID]:
    return (
        select(Incident, _Monitor.public_id, _Heartbeat.public_id)
        .outerjoin(_Monitor, _Monitor.id == Incident.monitor_id)
        .outerjoin(_Heartbeat, _Heartbeat.id == Incident.heartbeat_id)
        .where(Incident.organization_id == organization_id)
    )


def _filtered(
    query: Select[Incident, UUID, UUID], where: IncidentFilter
) -> Select[Incident, UUID, UUID]:
    if where.state:
        query = query.where(Incident.state == where.state)
    if where.open is not None:
        resolved = Incident.state == "resolved"
        query = query.where(~resolved if where.open else resolved)
    if where.monitor_id:
        query = query.where(_Monitor.public_id == where.monitor_id)
    if where.heartbeat_id:
        query = query.where(_Heartbeat.public_id == where.heartbeat_id)
    return query


async def page(
    session: AsyncSession,
    organization_id: int,
    where: IncidentFilter,
    *,
    limit: int,
    after: UUID | None,
) -> tuple[list[IncidentRow], UUID | None]:
    query = _filtered(_base(organization_id), where)
    rows, next_key = await keyset_page(session, query, Incident.public_id, limit=limit, after=after)
    return [IncidentRow(*row) for row in rows], next_key


async def find(session: AsyncSession, organization_id: int, public_id: UUID) -> IncidentRow | None:
    query = _base(organization_id).where(Incident.public_id == public_id)
    found = (await session.execute(query)).first()
    return None if found is None else IncidentRow(*found)


async def timeline(session: AsyncSession, incident_id: int) -> Sequence[IncidentUpdate]:
    query = (
        select(IncidentUpdate)
        .where(IncidentUpdate.incident_id == incident_id)
        .order_by(IncidentUpdate.created_at, IncidentUpdate.id)
    )
    return (await session.execute(query)).scalars().all()
