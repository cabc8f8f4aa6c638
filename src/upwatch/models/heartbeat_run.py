from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from upwatch.db.base import Base, BigIntId
from upwatch.db.types import UtcDateTime


class HeartbeatRun(Base):
    """One run of a job: opened by a start ping (or, without one, by its end ping) and
    closed by its end ping, a newer start, or a missed deadline."""

    __tablename__ = "heartbeat_runs"
    __table_args__ = (Index(None, "heartbeat_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    heartbeat_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("heartbeats.id", ondelete="CASCADE"),
    )
    rid: Mapped[str | None] = mapped_column(String(64))
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)  # start, or the lone end ping
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    duration_ms: Mapped[float | None] = mapped_column(Float)
    outcome: Mapped[str] = mapped_column(String(16))  # success|failure|timeout|in_progress
    exit_code: Mapped[int | None] = mapped_column(SmallInteger)
