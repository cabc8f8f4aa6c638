from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from upwatch.db.base import Base


class MonitorTag(Base):
    """One tag of one monitor: a row each, so `?tag=a&tag=b` filters use an index."""

    __tablename__ = "monitor_tags"
    __table_args__ = (Index(None, "tag", "monitor_id"),)

    monitor_id: Mapped[int] = mapped_column(
        ForeignKey("monitors.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(64), primary_key=True)
