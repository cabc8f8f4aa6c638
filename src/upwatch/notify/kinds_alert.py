"""What can fire: the alert kinds a channel's event filter and a silence name."""

from __future__ import annotations

from enum import StrEnum


class AlertKind(StrEnum):
    DOWN = "down"
    UP = "up"
    DEGRADED = "degraded"
    SPIKE = "spike"
    CERTIFICATE_EXPIRING = "certificate_expiring"
    HEARTBEAT_MISSED = "heartbeat_missed"
    INCIDENT_UPDATES = "incident_updates"
    MAINTENANCE = "maintenance"


# A problem alert stays active until its subject recovers (`/alerts/active`).
PROBLEMS = frozenset({AlertKind.DOWN, AlertKind.HEARTBEAT_MISSED})
