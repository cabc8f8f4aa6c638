"""Incident rows → the API's projections."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from upwatch.incidents.repository import IncidentRow
from upwatch.incidents.schemas import (
    Impact,
    IncidentDetail,
    IncidentState,
    IncidentSummary,
    TimelineEntry,
)
from upwatch.models import IncidentUpdate


def _fields(row: IncidentRow) -> dict[str, Any]:
    incident = row.incident
    duration = None
    if incident.resolved_at is not None:
        duration = round((incident.resolved_at - incident.started_at).total_seconds(), 3)
    return {
        "id": incident.public_id,
        "title": incident.title,
        "impact": Impact(incident.impact),
        "state": IncidentState(incident.state),
        "monitor_id": row.monitor_id,
        "heartbeat_id": row.heartbeat_id,
        "cause": incident.cause,
        "auto_created": incident.auto_created,
        "auto_resolved": incident.auto_resolved,
        "started_at": incident.started_at,
        "acknowledged_at": incident.acknowledged_at,
        "acknowledged_by": incident.acknowledged_by,
        "resolved_at": incident.resolved_at,
        "resolved_by": incident.resolved_by,
        "duration_seconds": duration,
    }


def summary(row: IncidentRow) -> IncidentSummary:
    return IncidentSummary(**_fields(row))


def detail(row: IncidentRow, entries: Sequence[IncidentUpdate]) -> IncidentDetail:
    return IncidentDetail(
        **_fields(row),
        postmortem=row.incident.postmortem,
        timeline=[entry(item) for item in entries],
        created_at=row.incident.created_at,
        updated_at=row.incident.updated_at,
    )


def entry(item: IncidentUpdate) -> TimelineEntry:
    return TimelineEntry(
        id=item.public_id,
        kind=item.kind,
        state=IncidentState(item.state),
        body=item.body,
        public=item.public,
        author=item.author,
        created_at=item.created_at,
    )
