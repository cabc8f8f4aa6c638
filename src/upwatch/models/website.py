from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from upwatch.db.base import Base, PublicIdMixin
from upwatch.db.types import UtcDateTime


class Website(PublicIdMixin, Base):
    """A domain whose monitors are grouped together; verified ownership unlocks
    concurrency > 1 against it."""

    __tablename__ = "websites"
    __table_args__ = (UniqueConstraint("organization_id", "domain"),)

    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    domain: Mapped[str] = mapped_column(String(253))  # lower-case, no trailing dot
    verification_token: Mapped[str] = mapped_column(String(64))
    verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    verification_method: Mapped[str | None] = mapped_column(String(16))  # dns or file
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
