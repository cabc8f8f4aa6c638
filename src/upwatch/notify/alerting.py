"""Alerts and their outbox rows, decided in the transaction that stores what caused them.

For each state change of a monitor or heartbeat this module:
- works out whether it is suppressed: the subject is in a maintenance window, or (monitors)
  the monitor it depends on is down. Suppressed problems open no incident and alert no one;
  recoveries always resolve.
- opens or resolves the incident (`incidents.auto`),
- records an `Alert` (down, up, degraded, heartbeat_missed, ...) and one `Notification` per
  channel its routing rules select: the organization's default channels plus the subject's
  own, enabled, whose event filter takes the alert's kind and whose minimum impact it meets.
  Escalation channels wait (the dispatcher adds them later). An alert matched by an active
  silence is recorded with `silenced` notifications, none of which is sent.

Nothing here sends anything: the dispatcher delivers after the commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from upwatch.core.clock import isoformat_z
from upwatch.events import Event
from upwatch.incidents import auto
from upwatch.models import (
    Alert,
    Heartbeat,
    HeartbeatChannel,
    HeartbeatTag,
    Incident,
    MaintenanceWindow,
    Monitor,
    MonitorChannel,
    MonitorGroup,
    MonitorState,
    MonitorTag,
    Notification,
    NotificationChannel,
    Silence,
)
from upwatch.notify import doorbell
from upwatch.notify.calendar import Covered, Window
from upwatch.notify.impact import at_least
from upwatch.notify.kinds_alert import PROBLEMS, AlertKind

DOWN = "down"
MAINTENANCE = "maintenance"
RECOVERED = frozenset({"up", "degraded"})

EVENT_TYPES: dict[tuple[AlertKind, str], str] = {
    (AlertKind.DOWN, "monitor"): "monitor.down",
    (AlertKind.DOWN, "heartbeat"): "heartbeat.down",
    (AlertKind.UP, "monitor"): "monitor.up",
    (AlertKind.UP, "heartbeat"): "heartbeat.up",
    (AlertKind.DEGRADED, "monitor"): "monitor.degraded",
    (AlertKind.SPIKE, "monitor"): "monitor.spike_detected",
    (AlertKind.CERTIFICATE_EXPIRING, "monitor"): "certificate.expiring",
    (AlertKind.HEARTBEAT_MISSED, "heartbeat"): "heartbeat.missed",
}
EMOJI = {
    AlertKind.DOWN: "🔴",
    AlertKind.HEARTBEAT_MISSED: "🔴",
    AlertKind.UP: "✅",
    AlertKind.DEGRADED: "🟡",
    AlertKind.SPIKE: "🟡",
    AlertKind.CERTIFICATE_EXPIRING: "🔒",
    AlertKind.INCIDENT_UPDATES: "📣",
    AlertKind.MAINTENANCE: "🛠",
}


@dataclass(frozen=True, slots=True)
class SubjectInfo:
    kind: str  # monitor | heartbeat
    id: int
    public_id: UUID
    organization_id: int
    name: str
    target: str | None
    tags: frozenset[str]
    group_id: str | None
    depends_on_id: int | None
    channel_ids: frozenset[int]

    def covered(self) -> Covered:
        return Covered(self.kind, str(self.public_id), self.tags, self.group_id)

    def as_payload(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": str(self.public_id),
            "name": self.name,
            "target": self.target,
            "tags": sorted(self.tags),
        }


@dataclass(frozen=True, slots=True)
class Trigger:
    """Something that may alert: a state change, or a spike or certificate warning."""

    subject_kind: str
    subject_id: int
    kind: AlertKind | None  # None: decide from the state change
    at: datetime
    reason: str
    from_status: str | None = None
    to_status: str | None = None
    latency_ms: float | None = None
    missed: bool = False  # a heartbeat's deadline passed (not a failure ping)
    # Recorded only after the database came back from an outage: `at` is when it was
    # observed, the alert goes out later than it would have.
    late: bool = False


@dataclass(slots=True)
class Followed:
    events: list[Event] = field(default_factory=list)
    queued: int = 0


@dataclass(slots=True)
class _Context:
    subjects: dict[tuple[str, int], SubjectInfo]
    channels: dict[int, list[NotificationChannel]]
    windows: dict[int, list[Window]]
    silences: dict[int, list[Silence]]
    parents_down: set[int]


async def follow(session: AsyncSession, triggers: Sequence[Trigger]) -> Followed:
    """Incidents, alerts and outbox rows for `triggers`, in the caller's transaction.

    Returns the events to publish after the commit. The dispatchers' doorbell is rung now,
    before the commit: a dispatcher that wakes early finds nothing and polls again soon, so
    this only saves the wait, never loses a row.
    """
    followed = Followed()
    if not triggers:
        return followed
    context = await _load(session, triggers)
    for trigger in triggers:
        subject = context.subjects.get((trigger.subject_kind, trigger.subject_id))
        if subject is not None:
            await _follow_one(session, context, subject, trigger, followed)
    if followed.queued:
        doorbell.ring()
    return followed


async def _follow_one(
    session: AsyncSession,
    context: _Context,
    subject: SubjectInfo,
    trigger: Trigger,
    followed: Followed,
) -> None:
    suppressed_by = _suppressed_by(context, subject, trigger)
    kind = trigger.kind
    incident: Incident | None = None
    if kind is None:
        change = auto.Change(
            auto.Subject(
                "monitor" if subject.kind == "monitor" else "heartbeat",
                subject.id,
                subject.public_id,
                subject.organization_id,
                subject.name,
            ),
            trigger.from_status or "",
            trigger.to_status or "",
            trigger.reason,
            trigger.at,
            missed=trigger.missed,
        )
        kind, incident = await _follow_change(session, change, suppressed_by, followed)
        if kind is None:
            return
    if kind is AlertKind.UP:
        await _resolve_problems(session, subject, trigger.at)
    impact = _impact(kind, incident)
    alert = Alert(
        organization_id=subject.organization_id,
        kind=str(kind),
        impact=impact,
        title=_title(kind, subject),
        reason=trigger.reason[:2000],
        monitor_id=subject.id if subject.kind == "monitor" else None,
        heartbeat_id=subject.id if subject.kind == "heartbeat" else None,
        incident_id=None if incident is None else incident.id,
        outcome="suppressed" if suppressed_by else "unrouted",
        suppressed_by=suppressed_by,
        created_at=trigger.at,
        late=trigger.late,
    )
    session.add(alert)
    await session.flush()
    if suppressed_by:
        return
    channels = route(context.channels.get(subject.organization_id, []), subject, kind, impact)
    if kind is AlertKind.UP and incident is not None:
        channels += await escalated_channels(session, incident.id, exclude=channels)
    if not channels:
        return
    silenced = any(
        silence_matches(s, subject, kind, impact)
        for s in context.silences.get(subject.organization_id, [])
    )
    alert.outcome = "silenced" if silenced else "notified"
    payload = alert_payload(alert, kind, subject, incident, trigger.latency_ms, late=trigger.late)
    for channel in channels:
        session.add(outbox_row(alert, channel.id, payload, purpose="alert", silenced=silenced))
    followed.queued += 0 if silenced else len(channels)


async def _follow_change(
    session: AsyncSession, change: auto.Change, suppressed_by: str | None, followed: Followed
) -> tuple[AlertKind | None, Incident | None]:
    """The incident's side of a state change, and the alert kind it makes (if any)."""
    to, came_from = change.to_status, change.from_status
    if to == DOWN and came_from != DOWN:
        if suppressed_by:
            return (_problem_kind(change), None)
        opened = await auto.open_incident(session, change)
        if opened is not None:
            followed.events.append(auto.incident_event("incident.opened", opened, change.subject))
        return (_problem_kind(change), opened)
    if to in RECOVERED:
        resolved = await auto.resolve_incident(session, change)
        if resolved is not None:
            followed.events.append(
                auto.incident_event("incident.resolved", resolved, change.subject)
            )
            return (AlertKind.UP, resolved)
        if to == "degraded" and came_from == "up":
            return (AlertKind.DEGRADED, None)
    return (None, None)


def _problem_kind(change: auto.Change) -> AlertKind:
    return AlertKind.HEARTBEAT_MISSED if change.missed else AlertKind.DOWN


def _suppressed_by(context: _Context, subject: SubjectInfo, trigger: Trigger) -> str | None:
    if trigger.to_status == MAINTENANCE:
        return MAINTENANCE
    covered = subject.covered()
    for window in context.windows.get(subject.organization_id, []):
        if window.covers(covered) and window.occurrence_at(trigger.at) is not None:
            return MAINTENANCE
    if subject.depends_on_id is not None and subject.depends_on_id in context.parents_down:
        return "dependency"
    return None


def _impact(kind: AlertKind, incident: Incident | None) -> str:
    if incident is not None:
        return incident.impact
    if kind in PROBLEMS:
        return auto.DEFAULT_IMPACT
    return "minor"


def _title(kind: AlertKind, subject: SubjectInfo) -> str:
    name = subject.name
    return {
        AlertKind.DOWN: f"{name} is down",
        AlertKind.UP: f"{name} is up again",
        AlertKind.DEGRADED: f"{name} is degraded",
        AlertKind.SPIKE: f"{name}: response time spike",
        AlertKind.CERTIFICATE_EXPIRING: f"{name}: TLS certificate expiring",
        AlertKind.HEARTBEAT_MISSED: f"{name} missed its schedule",
    }.get(kind, f"{name}: {kind}")


def route(
    channels: Iterable[NotificationChannel], subject: SubjectInfo, kind: AlertKind, impact: str
) -> list[NotificationChannel]:
    """The routing rules: which of the organization's channels take this alert now
    (escalation channels wait: `followups.py` tells them later)."""
    return [
        channel
        for channel in channels
        if takes(channel, subject, kind, impact) and channel.escalate_after_minutes is None
    ]


def takes(channel: NotificationChannel, subject: SubjectInfo, kind: AlertKind, impact: str) -> bool:
    """Whether a channel takes this subject's alerts of this kind and impact."""
    return (
        channel.is_enabled
        and (channel.is_default or channel.id in subject.channel_ids)
        and (not channel.events or str(kind) in channel.events)
        and at_least(impact, channel.min_impact)
    )


def silence_matches(silence: Silence, subject: SubjectInfo, kind: AlertKind, impact: str) -> bool:
    ids = silence.monitor_ids if subject.kind == "monitor" else silence.heartbeat_ids
    other_ids = silence.heartbeat_ids if subject.kind == "monitor" else silence.monitor_ids
    if (ids or other_ids) and str(subject.public_id) not in ids:
        return False
    if silence.tags and not subject.tags & set(silence.tags):
        return False
    if silence.alert_kinds and str(kind) not in silence.alert_kinds:
        return False
    return silence.max_impact is None or at_least(silence.max_impact, impact)


async def escalated_channels(
    session: AsyncSession, incident_id: int, exclude: Sequence[NotificationChannel]
) -> list[NotificationChannel]:
    """Escalation channels already told about this incident: they hear the recovery too."""
    skip = {channel.id for channel in exclude}
    told = (
        select(Notification.channel_id)
        .join(Alert, Alert.id == Notification.alert_id)
        .where(Alert.incident_id == incident_id, Notification.purpose == "escalation")
    )
    # By id: PostgreSQL cannot compare the channels' JSON columns for DISTINCT.
    query = select(NotificationChannel).where(
        NotificationChannel.id.in_(told), NotificationChannel.is_enabled.is_(True)
    )
    return [c for c in (await session.execute(query)).scalars() if c.id not in skip]


async def _resolve_problems(session: AsyncSession, subject: SubjectInfo, at: datetime) -> None:
    column = Alert.monitor_id if subject.kind == "monitor" else Alert.heartbeat_id
    query = select(Alert).where(
        column == subject.id,
        Alert.kind.in_([str(k) for k in PROBLEMS]),
        Alert.resolved_at.is_(None),
    )
    for alert in (await session.execute(query)).scalars():
        alert.resolved_at = at


def alert_payload(
    alert: Alert,
    kind: AlertKind,
    subject: SubjectInfo | None,
    incident: Incident | None,
    latency_ms: float | None,
    *,
    late: bool = False,
) -> dict[str, Any]:
    """What a message is rendered from, stored with each outbox row."""
    subject_kind = subject.kind if subject is not None else "incident"
    return {
        "event_type": EVENT_TYPES.get((kind, subject_kind), f"alert.{kind}"),
        "kind": str(kind),
        "emoji": EMOJI.get(kind, ""),
        "title": alert.title,
        "reason": alert.reason,
        "impact": alert.impact,
        "at": isoformat_z(alert.created_at),
        "alert_id": str(alert.public_id),
        "subject": None if subject is None else subject.as_payload(),
        "latency_ms": latency_ms,
        "incident": None if incident is None else incident_payload(incident),
        "test": False,
        "late": late,
    }


def incident_payload(incident: Incident) -> dict[str, Any]:
    return {
        "id": str(incident.public_id),
        "title": incident.title,
        "impact": incident.impact,
        "state": incident.state,
    }


def outbox_row(
    alert: Alert | None,
    channel_id: int,
    payload: dict[str, Any],
    *,
    purpose: str,
    silenced: bool = False,
    organization_id: int | None = None,
) -> Notification:
    at = alert.created_at if alert is not None else datetime.fromisoformat(payload["at"])
    return Notification(
        organization_id=alert.organization_id if alert is not None else organization_id,
        alert_id=None if alert is None else alert.id,
        channel_id=channel_id,
        purpose=purpose,
        event_type=payload["event_type"],
        payload=payload,
        status="silenced" if silenced else "pending",
        attempts=0,
        next_attempt_at=None if silenced else at,
        created_at=at,
    )


# --- loading ------------------------------------------------------------------------------


async def _load(session: AsyncSession, triggers: Sequence[Trigger]) -> _Context:
    found = await subjects(session, ((t.subject_kind, t.subject_id) for t in triggers))
    orgs = {s.organization_id for s in found.values()}
    at = max(t.at for t in triggers)
    channels: dict[int, list[NotificationChannel]] = {}
    for channel in (
        await session.execute(
            select(NotificationChannel)
            .where(NotificationChannel.organization_id.in_(orgs))
            .order_by(NotificationChannel.id)
        )
    ).scalars():
        channels.setdefault(channel.organization_id, []).append(channel)
    windows: dict[int, list[Window]] = {}
    for row in (
        await session.execute(
            select(MaintenanceWindow).where(MaintenanceWindow.organization_id.in_(orgs))
        )
    ).scalars():
        windows.setdefault(row.organization_id, []).append(Window.of(row))
    silences: dict[int, list[Silence]] = {}
    for silence in (
        await session.execute(
            select(Silence).where(
                Silence.organization_id.in_(orgs), Silence.starts_at <= at, Silence.ends_at > at
            )
        )
    ).scalars():
        silences.setdefault(silence.organization_id, []).append(silence)
    parents = {s.depends_on_id for s in found.values() if s.depends_on_id is not None}
    parents_down: set[int] = set()
    if parents:
        query = select(MonitorState.monitor_id).where(
            MonitorState.monitor_id.in_(parents), MonitorState.status == DOWN
        )
        parents_down = set((await session.execute(query)).scalars())
    return _Context(found, channels, windows, silences, parents_down)


async def subjects(
    session: AsyncSession, keys: Iterable[tuple[str, int]]
) -> dict[tuple[str, int], SubjectInfo]:
    """Routing facts of monitors and heartbeats, by ("monitor"|"heartbeat", id)."""
    keys = list(keys)
    monitors = {i for kind, i in keys if kind == "monitor"}
    heartbeats = {i for kind, i in keys if kind == "heartbeat"}
    return await _monitors(session, monitors) | await _heartbeats(session, heartbeats)


async def _monitors(session: AsyncSession, ids: set[int]) -> dict[tuple[str, int], SubjectInfo]:
    if not ids:
        return {}
    tags: dict[int, set[str]] = {}
    for monitor_id, tag in await session.execute(
        select(MonitorTag.monitor_id, MonitorTag.tag).where(MonitorTag.monitor_id.in_(ids))
    ):
        tags.setdefault(monitor_id, set()).add(tag)
    chosen: dict[int, set[int]] = {}
    for monitor_id, channel_id in await session.execute(
        select(MonitorChannel.monitor_id, MonitorChannel.channel_id).where(
            MonitorChannel.monitor_id.in_(ids)
        )
    ):
        chosen.setdefault(monitor_id, set()).add(channel_id)
    query = (
        select(Monitor, MonitorGroup.public_id)
        .outerjoin(MonitorGroup, MonitorGroup.id == Monitor.group_id)
        .where(Monitor.id.in_(ids))
    )
    return {
        ("monitor", m.id): SubjectInfo(
            "monitor", m.id, m.public_id, m.organization_id, m.name, m.target,
            frozenset(tags.get(m.id, ())), None if group is None else str(group),
            m.depends_on_id, frozenset(chosen.get(m.id, ())),
        )
        for m, group in await session.execute(query)
    }  # fmt: skip


async def _heartbeats(session: AsyncSession, ids: set[int]) -> dict[tuple[str, int], SubjectInfo]:
    if not ids:
        return {}
    tags: dict[int, set[str]] = {}
    for heartbeat_id, tag in await session.execute(
        select(HeartbeatTag.heartbeat_id, HeartbeatTag.tag).where(
            HeartbeatTag.heartbeat_id.in_(ids)
        )
    ):
        tags.setdefault(heartbeat_id, set()).add(tag)
    chosen: dict[int, set[int]] = {}
    for heartbeat_id, channel_id in await session.execute(
        select(HeartbeatChannel.heartbeat_id, HeartbeatChannel.channel_id).where(
            HeartbeatChannel.heartbeat_id.in_(ids)
        )
    ):
        chosen.setdefault(heartbeat_id, set()).add(channel_id)
    query = select(Heartbeat).where(Heartbeat.id.in_(ids))
    return {
        ("heartbeat", h.id): SubjectInfo(
            "heartbeat", h.id, h.public_id, h.organization_id, h.name, None,
            frozenset(tags.get(h.id, ())), None, None, frozenset(chosen.get(h.id, ())),
        )
        for h in (await session.execute(query)).scalars()
    }  # fmt: skip
