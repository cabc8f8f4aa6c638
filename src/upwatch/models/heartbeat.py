from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from upwatch.db.base import Base, PublicIdMixin
from upwatch.db.types import UtcDateTime


class Heartbeat(PublicIdMixin, Base):
    """A job that pings us: its schedule and ping token. Its live state is in
    `HeartbeatState`; this row only changes when someone edits the heartbeat."""

    __tablename__ = "heartbeats"
    __table_args__ = (UniqueConstraint("organization_id", "slug"),)

    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str | None] = mapped_column(String(100))
    # Either a period, or a cron expression read in `timezone`; grace applies to both.
    period_seconds: Mapped[int | None] = mapped_column(Integer)
    cron: Mapped[str | None] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    grace_seconds: Mapped[int] = mapped_column(Integer)
    max_runtime_seconds: Mapped[int | None] = mapped_column(Integer)
    min_runtime_seconds: Mapped[int | None] = mapped_column(Integer)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The ping token is a credential: looked up by its SHA-256, shown from its sealed copy.
    ping_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    ping_token_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
