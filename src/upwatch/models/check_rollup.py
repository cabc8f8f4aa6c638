from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from upwatch.db.base import Base
from upwatch.db.types import UtcDateTime


class CheckRollup(Base):
    """Aggregates of a monitor's checks over a minute, an hour or a day, maintained
    incrementally as results are written; statistics and charts read only these."""

    __tablename__ = "check_rollups"

    monitor_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("monitors.id", ondelete="CASCADE"),
        primary_key=True,
    )
    resolution: Mapped[int] = mapped_column(Integer, primary_key=True)  # seconds: 60, 3600, 86400
    bucket_start: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    checks: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    maintenance_checks: Mapped[int] = mapped_column(Integer, default=0)
    # Of `failures`, those during maintenance: statistics may leave maintenance out.
    maintenance_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    latency_count: Mapped[int] = mapped_column(Integer, default=0)
    latency_sum_ms: Mapped[float] = mapped_column(Float, default=0.0)
    latency_min_ms: Mapped[float | None] = mapped_column(Float)
    latency_max_ms: Mapped[float | None] = mapped_column(Float)
    histogram: Mapped[dict[str, Any]] = mapped_column(JSON)  # sparse, see monitors.histogram
