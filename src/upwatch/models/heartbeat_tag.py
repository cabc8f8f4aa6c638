from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from upwatch.db.base import Base


class HeartbeatTag(Base):
    """One tag of one heartbeat (a row each, like monitor tags, for indexed filters)."""

    __tablename__ = "heartbeat_tags"
    __table_args__ = (Index(None, "tag", "heartbeat_id"),)

    heartbeat_id: Mapped[int] = mapped_column(
        ForeignKey("heartbeats.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(64), primary_key=True)
