"""What time alone triggers, checked on every dispatcher pass:

- **Escalation**: a channel with `escalate_after_minutes` hears about an incident once it
  has been open and unacknowledged that long (once per incident).
- **Reminders**: a channel with `remind_every_minutes` that was told about an open,
  unacknowledged incident is told again every N minutes until someone acknowledges it.
- **Maintenance notices**: windows with `notify` announce their start and end to the
  organization's default channels.

Several dispatchers may run: rows are locked (`SKIP LOCKED` on PostgreSQL) and each
follow-up is written only if no equal one exists, so each is sent once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from upwatch.core.clock import Clock, isoformat_z
from upwatch.db.engine import Database
from upwatch.db.unit_of_work import unit_of_work
from upwatch.models import (
    Alert,
    Incident,
    MaintenanceWindow,
    Notification,
    NotificationChannel,
    Silence,
)
from upwatch.notify import doorbell
from upwatch.notify.alerting import (
    SubjectInfo,
    alert_payload,
    outbox_row,
    silence_matches,
    subjects,
    takes,
)
from upwatch.notify.calendar import Window
from upwatch.notify.kinds_alert import PROBLEMS, AlertKind


class Followups:
    def __init__(self, database: Database, clock: Clock) -> None:
        self._database = database
        self._clock = clock
        self._last_pass: datetime | None = None

    async def run_once(self) -> int:
        now = self._clock.now()
        previous, self._last_pass = self._last_pass, now
        async with unit_of_work(self._database) as session:
            queued = await self._incidents(session, now)
            queued += await self._notices(session, previous, now)
        if queued:
            doorbell.ring()
        return queued

    async def _incidents(self, session: AsyncSession, now: datetime) -> int:
        query = (
            select(Incident, Alert)
            .join(Alert, Alert.incident_id == Incident.id)
            .where(
                Incident.state != "resolved",
                Incident.acknowledged_at.is_(None),
                Alert.kind.in_([str(kind) for kind in PROBLEMS]),
                Alert.outcome != "suppressed",
            )
            .order_by(Incident.id)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(of=Incident, skip_locked=True)
        rows = list(await session.execute(query))
        if not rows:
            return 0
        keys = [
            ("monitor", a.monitor_id) if a.monitor_id is not None else ("heartbeat", a.heartbeat_id)
            for _, a in rows
        ]
        found = await subjects(session, [(kind, i) for kind, i in keys if i is not None])
        queued = 0
        for (incident, alert), key in zip(rows, keys, strict=True):
            subject = found.get((key[0], key[1] or 0))
            if subject is not None:
                queued += await self._follow_incident(session, incident, alert, subject, now)
        return queued

    async def _follow_incident(
        self,
        session: AsyncSession,
        incident: Incident,
        alert: Alert,
        subject: SubjectInfo,
        now: datetime,
    ) -> int:
        channels = await _channels(session, incident.organization_id)
        sent = await _last_sent(session, alert.id)
        silenced = await _silenced(session, subject, AlertKind(alert.kind), alert.impact, now)
        queued = 0
        for channel in channels:
            if not takes(channel, subject, AlertKind(alert.kind), alert.impact):
                continue
            escalate = channel.escalate_after_minutes
            if escalate is not None and channel.id not in sent:
                if now >= incident.started_at + timedelta(minutes=escalate):
                    queued += self._queue(session, alert, incident, subject, channel, "escalation",
                                          now, silenced)  # fmt: skip
                continue
            every = channel.remind_every_minutes
            last = sent.get(channel.id)
            due = every is not None and last is not None and now >= last + timedelta(minutes=every)
            if due and not silenced:
                queued += self._queue(session, alert, incident, subject, channel, "reminder",
                                      now, silenced)  # fmt: skip
        return queued

    def _queue(
        self,
        session: AsyncSession,
        alert: Alert,
        incident: Incident,
        subject: SubjectInfo,
        channel: NotificationChannel,
        purpose: str,
        now: datetime,
        silenced: bool,
    ) -> int:
        payload = alert_payload(alert, AlertKind(alert.kind), subject, incident, None)
        minutes = int((now - incident.started_at).total_seconds() // 60)
        prefix = "Escalated" if purpose == "escalation" else "Reminder"
        payload.update(
            title=f"{prefix}: {alert.title} ({minutes} min, not acknowledged)",
            at=isoformat_z(now),
            purpose=purpose,
        )
        row = outbox_row(alert, channel.id, payload, purpose=purpose, silenced=silenced)
        row.created_at = now
        row.next_attempt_at = None if silenced else now
        session.add(row)
        return 0 if silenced else 1

    async def _notices(
        self, session: AsyncSession, previous: datetime | None, now: datetime
    ) -> int:
        """A window's start is announced while an occurrence is in effect and has not been
        announced yet (a window created already started, or while no dispatcher ran, is
        announced too); its end when the occurrence of the previous pass is over."""
        query = select(MaintenanceWindow).where(MaintenanceWindow.notify.is_(True))
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        queued = 0
        for row in (await session.execute(query)).scalars():
            window = Window.of(row)
            current = window.occurrence_at(now)
            before = window.occurrence_at(previous) if previous is not None else None
            if before is not None and before != current:
                queued += await _notice(session, window, before, "ended", now)
            if current is not None:  # _notice sends each notice once
                queued += await _notice(session, window, current, "started", now)
        return queued


async def _channels(session: AsyncSession, organization_id: int) -> list[NotificationChannel]:
    query = select(NotificationChannel).where(
        NotificationChannel.organization_id == organization_id,
        NotificationChannel.is_enabled.is_(True),
    )
    return list((await session.execute(query)).scalars())


async def _last_sent(session: AsyncSession, alert_id: int) -> dict[int, datetime]:
    """When each channel was last given a message about this alert (any purpose)."""
    query = (
        select(Notification.channel_id, func.max(Notification.created_at))
        .where(Notification.alert_id == alert_id, Notification.channel_id.is_not(None))
        .group_by(Notification.channel_id)
    )
    return {
        channel_id: at for channel_id, at in await session.execute(query) if channel_id is not None
    }


async def _silenced(
    session: AsyncSession, subject: SubjectInfo, kind: AlertKind, impact: str, now: datetime
) -> bool:
    query = select(Silence).where(
        Silence.organization_id == subject.organization_id,
        Silence.starts_at <= now,
        Silence.ends_at > now,
    )
    return any(
        silence_matches(s, subject, kind, impact) for s in (await session.execute(query)).scalars()
    )


async def _notice(
    session: AsyncSession,
    window: Window,
    occurrence: tuple[datetime, datetime],
    what: str,
    now: datetime,
) -> int:
    start, end = occurrence
    reason = f"{window.title}: {isoformat_z(start)} to {isoformat_z(end)} ({what})"
    exists = select(Alert.id).where(
        Alert.organization_id == window.organization_id,
        Alert.kind == str(AlertKind.MAINTENANCE),
        Alert.reason == reason,
    )
    if (await session.execute(exists)).first() is not None:
        return 0
    alert = Alert(
        organization_id=window.organization_id, kind=str(AlertKind.MAINTENANCE), impact="none",
        title=f"Maintenance {what}: {window.title}", reason=reason, outcome="unrouted",
        created_at=now,
    )  # fmt: skip
    session.add(alert)
    await session.flush()
    channels = [
        c
        for c in await _channels(session, window.organization_id)
        if c.is_default
        and c.escalate_after_minutes is None
        and (not c.events or str(AlertKind.MAINTENANCE) in c.events)
    ]
    payload: dict[str, Any] = alert_payload(alert, AlertKind.MAINTENANCE, None, None, None)
    payload.update(
        event_type=f"maintenance.{what}",
        maintenance={"id": window.id, "title": window.title, "starts_at": isoformat_z(start),
                     "ends_at": isoformat_z(end)},
    )  # fmt: skip
    for channel in channels:
        session.add(outbox_row(alert, channel.id, payload, purpose="notice"))
    if channels:
        alert.outcome = "notified"
    return len(channels)
