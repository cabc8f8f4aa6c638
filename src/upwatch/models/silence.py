from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from upwatch.db.base import Base, PublicIdMixin
from upwatch.db.types import UtcDateTime


class Silence(PublicIdMixin, Base):
    """A time-bounded rule: alerts it matches are recorded as silenced, not sent. Every
    non-empty matcher must match (empty lists match anything)."""

    __tablename__ = "silences"
    __table_args__ = (Index(None, "organization_id", "public_id"),)

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    comment: Mapped[str] = mapped_column(String(500))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)
    monitor_ids: Mapped[list[str]] = mapped_column(JSON)
    heartbeat_ids: Mapped[list[str]] = mapped_column(JSON)
    tags: Mapped[list[str]] = mapped_column(JSON)
    alert_kinds: Mapped[list[str]] = mapped_column(JSON)
    max_impact: Mapped[str | None] = mapped_column(String(16))  # silences this and below
    created_by: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
