"""The events heartbeats publish: `heartbeat.pinged`, `heartbeat.status_changed`,
`heartbeat.missed`, in the one envelope of the bus."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from upwatch.core.clock import isoformat_z
from upwatch.events import Event
from upwatch.heartbeats.machine import Ping, RunDraft, Transition


def _subject(public_id: UUID, name: str) -> dict[str, Any]:
    return {"heartbeat_id": str(public_id), "name": name}


def pinged(
    organization_id: int, public_id: UUID, name: str, ping: Ping, run: RunDraft | None, status: str
) -> Event:
    return Event(
        type="heartbeat.pinged",
        organization_id=organization_id,
        created_at=ping.received_at,
        resource_id=str(public_id),
        data={
            **_subject(public_id, name),
            "kind": str(ping.kind),
            "exit_code": ping.exit_code,
            "rid": ping.rid,
            "duration_ms": None if run is None else run.duration_ms,
            "status": status,
        },
    )


def status_changed(
    organization_id: int, public_id: UUID, name: str, transition: Transition
) -> Event:
    return Event(
        type="heartbeat.status_changed",
        organization_id=organization_id,
        created_at=transition.at,
        resource_id=str(public_id),
        data={
            **_subject(public_id, name),
            "from": str(transition.from_status),
            "to": str(transition.to_status),
            "reason": transition.reason,
        },
    )


def missed(
    organization_id: int, public_id: UUID, name: str, transition: Transition, deadline: datetime
) -> Event:
    return Event(
        type="heartbeat.missed",
        organization_id=organization_id,
        created_at=transition.at,
        resource_id=str(public_id),
        data={
            **_subject(public_id, name),
            "deadline_at": isoformat_z(deadline),
            "reason": transition.reason,
        },
    )
