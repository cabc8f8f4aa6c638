from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from upwatch.db.base import Base, BigIntId
from upwatch.db.types import UtcDateTime


class CheckResult(Base):
    """One check (one tick, which may be several concurrent requests). Kept
    `UPWATCH_RESULT_RETENTION_DAYS`; statistics come from rollups, not from here.

    Narrow on purpose: this table grows by one row per check.
    """

    __tablename__ = "check_results"
    __table_args__ = (Index(None, "monitor_id", "checked_at"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    monitor_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("monitors.id", ondelete="CASCADE"),
    )
    scheduled_at: Mapped[datetime] = mapped_column(UtcDateTime)
    checked_at: Mapped[datetime] = mapped_column(UtcDateTime)  # when it started
    ok: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16))  # the monitor's status after it
    latency_ms: Mapped[float | None] = mapped_column(Float)
    status_code: Mapped[int | None] = mapped_column(SmallInteger)
    error_code: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(String(500))  # only when it failed
    dns_ms: Mapped[float | None] = mapped_column(Float)
    connect_ms: Mapped[float | None] = mapped_column(Float)
    tls_ms: Mapped[float | None] = mapped_column(Float)
    ttfb_ms: Mapped[float | None] = mapped_column(Float)
    transfer_ms: Mapped[float | None] = mapped_column(Float)
    requests: Mapped[int] = mapped_column(SmallInteger, default=1)
    failed_requests: Mapped[int] = mapped_column(SmallInteger, default=0)
    # What the probe saw (JSON, capped: engine/ingest/details.py); NULL when it saw nothing
    # worth keeping. none_as_null: an empty value is SQL NULL, not the JSON text 'null'.
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
