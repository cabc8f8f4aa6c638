from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from upwatch.db.base import Base, PublicIdMixin
from upwatch.db.types import UtcDateTime


class Organization(PublicIdMixin, Base):
    """The tenant: every resource belongs to exactly one organization."""

    __tablename__ = "organizations"

    name: Mapped[str] = mapped_column(String(200))
    # Signs outgoing webhooks (channels and subscriptions); sealed, made on first use.
    webhook_secret_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
