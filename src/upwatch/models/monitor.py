from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from upwatch.db.base import Base, PublicIdMixin
from upwatch.db.types import UtcDateTime


class Monitor(PublicIdMixin, Base):
    """What to check and how. Its live state is in `MonitorState`, its results in
    `CheckResult`: this row only changes when someone edits the monitor."""

    __tablename__ = "monitors"
    # One index per `?sort=` order of the list (ties broken by public_id), so that any page
    # of an organization's monitors is an index range, not a sort of all of them.
    __table_args__ = (
        Index(None, "organization_id", "public_id"),
        Index(None, "organization_id", "name", "public_id"),
        Index(None, "organization_id", "kind", "public_id"),
        Index(None, "organization_id", "interval_seconds", "public_id"),
    )

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(2048))
    interval_seconds: Mapped[int] = mapped_column(Integer)
    timeout_ms: Mapped[int] = mapped_column(Integer)
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("monitor_groups.id", ondelete="SET NULL"), index=True
    )
    website_id: Mapped[int | None] = mapped_column(
        ForeignKey("websites.id", ondelete="SET NULL"), index=True
    )
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    execution_mode: Mapped[str] = mapped_column(String(16))  # background | on_demand
    concurrency: Mapped[int] = mapped_column(Integer, default=1)
    failure_threshold: Mapped[int] = mapped_column(Integer)
    recovery_threshold: Mapped[int] = mapped_column(Integer)
    degraded_above_ms: Mapped[float | None] = mapped_column(Float)
    spike_threshold_percent: Mapped[float] = mapped_column(Float)
    spike_min_diff_ms: Mapped[float] = mapped_column(Float, server_default="100")
    spike_consecutive: Mapped[int] = mapped_column(Integer, server_default="3")
    maintenance_mode: Mapped[bool] = mapped_column(Boolean, default=False)
    # While the parent is down, this monitor's new incidents and alerts are suppressed.
    depends_on_id: Mapped[int | None] = mapped_column(
        ForeignKey("monitors.id", ondelete="SET NULL")
    )
    # The kind's settings without their secret values, which live encrypted beside them.
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    secret_config: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
