from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from upwatch.db.base import Base, PublicIdMixin
from upwatch.db.types import UtcDateTime


class MaintenanceWindow(PublicIdMixin, Base):
    """Planned work: one-off (`starts_at`..`ends_at`) or recurring (`cron` or `rrule`, each
    occurrence lasting `duration_minutes` in `timezone`), over monitors, heartbeats, tags or
    groups (or everything). Scope lists hold public ids and tag names."""

    __tablename__ = "maintenance_windows"
    __table_args__ = (Index(None, "organization_id", "public_id"),)

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # one-off windows
    cron: Mapped[str | None] = mapped_column(String(200))
    rrule: Mapped[str | None] = mapped_column(String(500))
    duration_minutes: Mapped[int | None] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(String(64))
    until: Mapped[datetime | None] = mapped_column(UtcDateTime)  # recurring: none after
    all_subjects: Mapped[bool] = mapped_column(Boolean, default=False)
    monitor_ids: Mapped[list[str]] = mapped_column(JSON)
    heartbeat_ids: Mapped[list[str]] = mapped_column(JSON)
    tags: Mapped[list[str]] = mapped_column(JSON)
    group_ids: Mapped[list[str]] = mapped_column(JSON)
    notify: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
