from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from upwatch.db.base import Base, PublicIdMixin
from upwatch.db.types import UtcDateTime


class Alert(PublicIdMixin, Base):
    """Something worth telling happened (down, up, missed, spike, ...): what fired, and
    whether it was sent, silenced or suppressed. Its notifications say where it went."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index(None, "organization_id", "id"),
        Index(None, "incident_id"),
    )

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    impact: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(300))
    reason: Mapped[str | None] = mapped_column(Text)
    monitor_id: Mapped[int | None] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    heartbeat_id: Mapped[int | None] = mapped_column(
        ForeignKey("heartbeats.id", ondelete="CASCADE")
    )
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))
    outcome: Mapped[str] = mapped_column(String(16))  # notified|silenced|suppressed|unrouted
    suppressed_by: Mapped[str | None] = mapped_column(String(32))  # maintenance | dependency
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Recorded only after a database outage: `created_at` is when the change was observed,
    # the alert went out later. Its own column (not only the outbox payload) because an
    # unrouted or suppressed alert has no notification to read it from.
    late: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
