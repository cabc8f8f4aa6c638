from __future__ import annotations

from sqlalchemy import ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from upwatch.db.base import Base


class MonitorChannel(Base):
    """A channel chosen for one monitor (on top of the organization's default channels)."""

    __tablename__ = "monitor_channels"
    __table_args__ = (Index(None, "channel_id"),)

    monitor_id: Mapped[int] = mapped_column(
        ForeignKey("monitors.id", ondelete="CASCADE"), primary_key=True
    )
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("notification_channels.id", ondelete="CASCADE"), primary_key=True
    )


class HeartbeatChannel(Base):
    """A channel chosen for one heartbeat (on top of the organization's default channels)."""

    __tablename__ = "heartbeat_channels"
    __table_args__ = (Index(None, "channel_id"),)

    heartbeat_id: Mapped[int] = mapped_column(
        ForeignKey("heartbeats.id", ondelete="CASCADE"), primary_key=True
    )
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("notification_channels.id", ondelete="CASCADE"), primary_key=True
    )
