from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from upwatch.db.base import Base, BigIntId
from upwatch.db.types import UtcDateTime


class HeartbeatPing(Base):
    """Every ping received, with what came with it. Kept UPWATCH_RESULT_RETENTION_DAYS."""

    __tablename__ = "heartbeat_pings"
    __table_args__ = (Index(None, "heartbeat_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    heartbeat_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("heartbeats.id", ondelete="CASCADE"),
    )
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    kind: Mapped[str] = mapped_column(String(16))  # success | start | failure | log
    exit_code: Mapped[int | None] = mapped_column(SmallInteger)
    rid: Mapped[str | None] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(8))
    source_ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str | None] = mapped_column(Text)
    body_truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    duration_ms: Mapped[float | None] = mapped_column(Float)  # an end ping's run duration
