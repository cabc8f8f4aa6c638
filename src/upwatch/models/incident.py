from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from upwatch.db.base import Base, PublicIdMixin
from upwatch.db.types import UtcDateTime

OPEN = "state != 'resolved'"


class Incident(PublicIdMixin, Base):
    """Something is wrong: opened automatically when a monitor or heartbeat goes down (its
    `monitor_id`/`heartbeat_id` is the cause), resolved when it recovers."""

    __tablename__ = "incidents"
    __table_args__ = (
        Index(None, "organization_id", "public_id"),
        # One open incident per monitor (and per heartbeat) at a time, enforced by the database.
        Index(
            "uq_incidents_open_monitor", "monitor_id", unique=True,
            sqlite_where=text(f"monitor_id IS NOT NULL AND {OPEN}"),
            postgresql_where=text(f"monitor_id IS NOT NULL AND {OPEN}"),
        ),
        Index(
            "uq_incidents_open_heartbeat", "heartbeat_id", unique=True,
            sqlite_where=text(f"heartbeat_id IS NOT NULL AND {OPEN}"),
            postgresql_where=text(f"heartbeat_id IS NOT NULL AND {OPEN}"),
        ),
    )  # fmt: skip

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    impact: Mapped[str] = mapped_column(String(16))  # none | minor | major | critical
    state: Mapped[str] = mapped_column(String(16))  # investigating|identified|monitoring|resolved
    monitor_id: Mapped[int | None] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    heartbeat_id: Mapped[int | None] = mapped_column(
        ForeignKey("heartbeats.id", ondelete="CASCADE")
    )
    cause: Mapped[str | None] = mapped_column(Text)  # the reason of the state change
    auto_created: Mapped[bool] = mapped_column(Boolean, default=False)
    auto_resolved: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(320))
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(320))
    postmortem: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
