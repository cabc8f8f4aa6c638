from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from upwatch.db.base import Base, PublicIdMixin
from upwatch.db.types import UtcDateTime


class NotificationStatus(StrEnum):
    PENDING = "pending"  # due at `next_attempt_at`
    SENDING = "sending"  # claimed by a dispatcher until `claimed_until`
    SENT = "sent"
    FAILED = "failed"  # permanently, or out of attempts
    SILENCED = "silenced"  # kept for the record, never sent


class NotificationPurpose(StrEnum):
    ALERT = "alert"
    REMINDER = "reminder"
    ESCALATION = "escalation"
    NOTICE = "notice"  # a maintenance window's start or end
    EVENT = "event"  # a webhook subscription's event
    TEST = "test"


class AttemptOutcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    FAILED = "failed"


class Notification(PublicIdMixin, Base):
    """The outbox: one message for one channel or webhook subscription, written in the
    transaction that decided it, delivered later by a dispatcher. `public_id` is the
    delivery id (`Upwatch-Delivery`)."""

    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint("(channel_id IS NULL) <> (webhook_id IS NULL)", name="one_destination"),
        Index(None, "status", "next_attempt_at"),
        Index(None, "alert_id"),
        Index(None, "channel_id", "id"),
        Index(None, "webhook_id", "id"),
    )

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    channel_id: Mapped[int | None] = mapped_column(
        ForeignKey("notification_channels.id", ondelete="CASCADE")
    )
    webhook_id: Mapped[int | None] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(16))  # a NotificationPurpose
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))  # a NotificationStatus
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class NotificationAttempt(Base):
    """The delivery log: one row per try."""

    __tablename__ = "notification_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notification_id: Mapped[int] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE"), index=True
    )
    attempt: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    duration_ms: Mapped[float] = mapped_column()
    status_code: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))  # an AttemptOutcome
    error: Mapped[str | None] = mapped_column(Text)
