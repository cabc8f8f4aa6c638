from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from upwatch.db.base import Base, PublicIdMixin
from upwatch.db.types import UtcDateTime


class StateChange(PublicIdMixin, Base):
    """Every change of a monitor's or a heartbeat's status (exactly one of the two), with the
    reason: the source of incidents, alerts and uptime history."""

    __tablename__ = "state_changes"
    __table_args__ = (
        Index(None, "monitor_id", "public_id"),
        Index(None, "heartbeat_id", "public_id"),
        CheckConstraint("(monitor_id IS NULL) <> (heartbeat_id IS NULL)", name="one_subject"),
    )

    monitor_id: Mapped[int | None] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    heartbeat_id: Mapped[int | None] = mapped_column(
        ForeignKey("heartbeats.id", ondelete="CASCADE")
    )
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
