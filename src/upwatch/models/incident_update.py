from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from upwatch.db.base import Base, PublicIdMixin
from upwatch.db.types import UtcDateTime


class IncidentUpdate(PublicIdMixin, Base):
    """One entry of an incident's timeline: opened, acknowledged, a note, resolved."""

    __tablename__ = "incident_updates"
    __table_args__ = (Index(None, "incident_id", "public_id"),)

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # opened | acknowledged | note | resolved
    state: Mapped[str] = mapped_column(String(16))  # the incident's state after it
    body: Mapped[str] = mapped_column(Text)
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    author: Mapped[str | None] = mapped_column(String(320))  # email, or null for Upwatch
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
