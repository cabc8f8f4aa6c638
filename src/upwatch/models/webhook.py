from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from upwatch.db.base import Base, PublicIdMixin
from upwatch.db.types import UtcDateTime


class Webhook(PublicIdMixin, Base):
    """An organization's subscription to event types (or `*`), signed with its secret."""

    __tablename__ = "webhooks"
    __table_args__ = (Index(None, "organization_id", "public_id"),)

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    # The URL is a secret (it often carries a token): sealed with the "webhook-secrets" box,
    # shown only by the audited `/secrets` read. Its host is kept apart, for display.
    secret_url: Mapped[bytes] = mapped_column(LargeBinary)
    url_host: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(String(500))
    event_types: Mapped[list[str]] = mapped_column(JSON)
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(500))
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
