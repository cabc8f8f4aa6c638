"""Reading the outbox (delivery logs) and sending a test message at once."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from upwatch.core.clock import isoformat_z
from upwatch.db.pagination import keyset_page
from upwatch.models import (
    Notification,
    NotificationAttempt,
    NotificationChannel,
    NotificationPurpose,
    NotificationStatus,
    Webhook,
)
from upwatch.notify.alerting import EMOJI
from upwatch.notify.kinds_alert import AlertKind
from upwatch.notify.schemas import AttemptView, DeliveryView, TestResult

LEASE_FOR_TEST_SECONDS = 120


class Sender(Protocol):
    async def deliver(self, notification_id: int) -> Any: ...


async def page_channels(
    session: AsyncSession, organization_id: int, *, limit: int, after: UUID | None
) -> tuple[list[NotificationChannel], UUID | None]:
    query = select(NotificationChannel).where(
        NotificationChannel.organization_id == organization_id
    )
    rows, next_key = await keyset_page(
        session, query, NotificationChannel.public_id, limit=limit, after=after, descending=False
    )
    return [row[0] for row in rows], next_key


async def page(
    session: AsyncSession, where: ColumnElement[bool], *, limit: int, after: UUID | None
) -> tuple[list[DeliveryView], UUID | None]:
    """Deliveries matching `where`, newest first (delivery ids are UUIDv7)."""
    rows, next_key = await keyset_page(
        session, select(Notification).where(where), Notification.public_id, limit=limit,
        after=after,
    )  # fmt: skip
    return await views_of(session, [row[0] for row in rows]), next_key


async def views_of(session: AsyncSession, rows: list[Notification]) -> list[DeliveryView]:
    if not rows:
        return []
    ids = [row.id for row in rows]
    attempts: dict[int, list[AttemptView]] = {}
    query = (
        select(NotificationAttempt)
        .where(NotificationAttempt.notification_id.in_(ids))
        .order_by(NotificationAttempt.notification_id, NotificationAttempt.attempt)
    )
    for attempt in (await session.execute(query)).scalars():
        attempts.setdefault(attempt.notification_id, []).append(
            AttemptView(
                attempt=attempt.attempt, started_at=attempt.started_at,
                duration_ms=attempt.duration_ms, status_code=attempt.status_code,
                outcome=attempt.outcome, error=attempt.error,
            )
        )  # fmt: skip
    channel_ids = {row.channel_id for row in rows if row.channel_id is not None}
    webhook_ids = {row.webhook_id for row in rows if row.webhook_id is not None}
    channels = await _public_ids(session, NotificationChannel, channel_ids)
    webhooks = await _public_ids(session, Webhook, webhook_ids)
    return [
        DeliveryView(
            id=row.public_id,
            channel_id=None if row.channel_id is None else channels.get(row.channel_id),
            webhook_id=None if row.webhook_id is None else webhooks.get(row.webhook_id),
            purpose=row.purpose, event_type=row.event_type, status=row.status,
            attempts=row.attempts, next_attempt_at=row.next_attempt_at,
            last_error=row.last_error, created_at=row.created_at, sent_at=row.sent_at,
            log=attempts.get(row.id, []),
        )
        for row in rows
    ]  # fmt: skip


async def _public_ids(session: AsyncSession, model: Any, ids: set[int]) -> dict[int, UUID]:
    if not ids:
        return {}
    result = await session.execute(select(model.id, model.public_id).where(model.id.in_(ids)))
    return {internal: public for internal, public in result.all()}  # noqa: C416


def test_payload(title: str, now: datetime) -> dict[str, Any]:
    return {
        "event_type": "channel.test",
        "kind": "test",
        "emoji": EMOJI[AlertKind.UP],
        "title": title,
        "reason": "This is a test message from Upwatch: if you can read it, the channel works.",
        "impact": "none",
        "at": isoformat_z(now),
        "alert_id": None,
        "subject": None,
        "latency_ms": None,
        "incident": None,
        "test": True,
    }


def sample_alert(subject: dict[str, Any], now: datetime) -> dict[str, Any]:
    """What a real `down` alert of this monitor would carry, marked as a test."""
    payload = test_payload(f"{subject['name']} is down (test alert)", now)
    payload.update(
        event_type="monitor.down", kind=str(AlertKind.DOWN), emoji=EMOJI[AlertKind.DOWN],
        reason="2 consecutive failures (sample: this is a test alert)", impact="major",
        subject=subject, latency_ms=None,
    )  # fmt: skip
    return payload


def test_notification(channel: NotificationChannel, now: datetime) -> Notification:
    """A test message already claimed (status `sending`), so only the caller sends it."""
    payload = test_payload(f"Test of channel {channel.name}", now)
    return Notification(
        organization_id=channel.organization_id, channel_id=channel.id,
        purpose=NotificationPurpose.TEST, event_type="channel.test", payload=payload,
        status=NotificationStatus.SENDING, attempts=0,
        next_attempt_at=now, claimed_until=now + timedelta(seconds=LEASE_FOR_TEST_SECONDS),
        created_at=now,
    )  # fmt: skip


async def send_now(session: AsyncSession, sender: Sender, notification: Notification) -> TestResult:
    """Deliver a claimed test notification once (no retries), and report it."""
    report = await sender.deliver(notification.id)
    await session.refresh(notification)
    if notification.status == NotificationStatus.PENDING:  # a test is tried once: no retry later
        notification.status, notification.next_attempt_at = NotificationStatus.FAILED, None
    view = (await views_of(session, [notification]))[0]
    # Release the transaction (on SQLite, the write lock) before the caller sends the next
    # one: the dispatcher records each attempt in its own transaction.
    await session.commit()
    return TestResult(
        delivered=report.delivery.ok,
        status=notification.status,
        status_code=report.delivery.status_code,
        error=report.delivery.error,
        duration_ms=report.delivery.duration_ms,
        delivery=view,
    )
