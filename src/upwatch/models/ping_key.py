from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from upwatch.db.base import Base
from upwatch.db.types import UtcDateTime


class PingKey(Base):
    """An organization's ping key, for `/ping/{ping_key}/{slug}` URLs. A credential like the
    ping tokens: looked up by SHA-256, shown from the sealed copy."""

    __tablename__ = "ping_keys"

    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
