from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from upwatch.db.base import Base, PublicIdMixin
from upwatch.db.types import UtcDateTime


class NotificationChannel(PublicIdMixin, Base):
    """Where alerts go: a signed webhook, an email list, or any Apprise destination.

    `config` holds the fields that may be shown; `secret_config` the sealed ones (URLs with
    tokens, bot tokens). `events` and `min_impact` are the channel's routing rules;
    `escalate_after_minutes` makes it an escalation target, `remind_every_minutes` repeats.
    """

    __tablename__ = "notification_channels"
    __table_args__ = (Index(None, "organization_id", "public_id"),)

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    secret_config: Mapped[bytes | None] = mapped_column(LargeBinary)
    events: Mapped[list[str]] = mapped_column(JSON)  # empty: every kind of alert
    min_impact: Mapped[str] = mapped_column(String(16), default="none")
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(500))
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    remind_every_minutes: Mapped[int | None] = mapped_column(Integer)
    escalate_after_minutes: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
