from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from upwatch.db.base import Base


class TokenDailyUsage(Base):
    """Mutations a token made on one UTC day, for its daily cap (shared by all processes)."""

    __tablename__ = "token_daily_usage"

    token_id: Mapped[int] = mapped_column(
        ForeignKey("api_tokens.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    mutations: Mapped[int] = mapped_column(Integer, default=0)
