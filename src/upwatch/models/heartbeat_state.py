from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from upwatch.db.base import Base
from upwatch.db.types import UtcDateTime


class HeartbeatState(Base):
    """The live state of a heartbeat, rewritten by pings and missed deadlines: the hot row,
    apart from the configuration."""

    __tablename__ = "heartbeat_states"

    heartbeat_id: Mapped[int] = mapped_column(
        ForeignKey("heartbeats.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    status_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # When a miss is declared unless a ping comes first; NULL when none would be (not yet
    # pinged, paused, already down). The deadline watcher's timers are loaded from here.
    deadline_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    last_ping_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_ping_kind: Mapped[str | None] = mapped_column(String(16))
    last_exit_code: Mapped[int | None] = mapped_column(SmallInteger)
    last_duration_ms: Mapped[float | None] = mapped_column(Float)
    pings: Mapped[int] = mapped_column(BigInteger, default=0)
    # Runs started and not yet ended: [{"id", "rid", "started_at"}], oldest first. Kept here
    # so a ping finds its run without searching the runs table.
    open_runs: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
