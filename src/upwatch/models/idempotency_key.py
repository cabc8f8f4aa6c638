from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from upwatch.db.base import Base, BigIntId
from upwatch.db.types import UtcDateTime


class IdempotencyKey(Base):
    """The first response to a mutating request, replayed for retries with the same key.

    The unique (actor, key) pair is what makes two concurrent requests resolve to one.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("actor", "key"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    actor: Mapped[str] = mapped_column(String(64))  # "token:<id>" or "user:<id>" (sessions)
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))  # method, path, query and body
    response_status: Mapped[int | None] = mapped_column(Integer)  # None while in progress
    response_headers: Mapped[list[Any] | None] = mapped_column(JSON)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)  # encrypted (AES-GCM)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
