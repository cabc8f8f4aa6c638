from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from upwatch.db.base import Base
from upwatch.db.types import UtcDateTime


class MonitorState(Base):
    """The live state of a monitor, updated by every check: the hot row, kept apart from
    the monitor's configuration so checks never rewrite it."""

    __tablename__ = "monitor_states"

    monitor_id: Mapped[int] = mapped_column(
        ForeignKey("monitors.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(16), index=True)  # what the monitor shows
    check_status: Mapped[str] = mapped_column(String(16))  # what the checks say (policy)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    consecutive_successes: Mapped[int] = mapped_column(Integer, default=0)
    status_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    next_run_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    last_check_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_response_time_ms: Mapped[float | None] = mapped_column(Float)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error_code: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)
    # Lifetime figures of successful checks: the Osminog min/max/avg and the spike baseline.
    latency_count: Mapped[int] = mapped_column(BigInteger, default=0)
    latency_sum_ms: Mapped[float] = mapped_column(Float, default=0.0)
    latency_min_ms: Mapped[float | None] = mapped_column(Float)
    latency_max_ms: Mapped[float | None] = mapped_column(Float)
    last_spike: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    last_certificate: Mapped[dict[str, Any] | None] = mapped_column(JSON)
