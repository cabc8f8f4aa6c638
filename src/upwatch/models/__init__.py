"""ORM tables, one module per table. Importing this package registers them all on Base."""

from upwatch.models.alert import Alert
from upwatch.models.api_token import ApiToken
from upwatch.models.audit_log import AuditLog
from upwatch.models.check_result import CheckResult
from upwatch.models.check_rollup import CheckRollup
from upwatch.models.heartbeat import Heartbeat
from upwatch.models.heartbeat_ping import HeartbeatPing
from upwatch.models.heartbeat_run import HeartbeatRun
from upwatch.models.heartbeat_state import HeartbeatState
from upwatch.models.heartbeat_tag import HeartbeatTag
from upwatch.models.idempotency_key import IdempotencyKey
from upwatch.models.incident import Incident
from upwatch.models.incident_update import IncidentUpdate
from upwatch.models.invitation import Invitation
from upwatch.models.maintenance_window import MaintenanceWindow
from upwatch.models.membership import Membership
from upwatch.models.monitor import Monitor
from upwatch.models.monitor_group import MonitorGroup
from upwatch.models.monitor_state import MonitorState
from upwatch.models.monitor_tag import MonitorTag
from upwatch.models.notification import (
    AttemptOutcome,
    Notification,
    NotificationAttempt,
    NotificationPurpose,
    NotificationStatus,
)
from upwatch.models.notification_channel import NotificationChannel
from upwatch.models.organization import Organization
from upwatch.models.ping_key import PingKey
from upwatch.models.silence import Silence
from upwatch.models.state_change import StateChange
from upwatch.models.subject_channel import HeartbeatChannel, MonitorChannel
from upwatch.models.token_usage import TokenDailyUsage
from upwatch.models.user import User
from upwatch.models.user_session import UserSession
from upwatch.models.webhook import Webhook
from upwatch.models.website import Website

__all__ = [
    "Alert",
    "ApiToken",
    "AttemptOutcome",
    "AuditLog",
    "CheckResult",
    "CheckRollup",
    "Heartbeat",
    "HeartbeatChannel",
    "HeartbeatPing",
    "HeartbeatRun",
    "HeartbeatState",
    "HeartbeatTag",
    "IdempotencyKey",
    "Incident",
    "IncidentUpdate",
    "Invitation",
    "MaintenanceWindow",
    "Membership",
    "Monitor",
    "MonitorChannel",
    "MonitorGroup",
    "MonitorState",
    "MonitorTag",
    "Notification",
    "NotificationAttempt",
    "NotificationChannel",
    "NotificationPurpose",
    "NotificationStatus",
    "Organization",
    "PingKey",
    "Silence",
    "StateChange",
    "TokenDailyUsage",
    "User",
    "UserSession",
    "Webhook",
    "Website",
]
