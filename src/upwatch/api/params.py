"""Query-parameter checks shared by routes."""

from __future__ import annotations

from datetime import datetime

from upwatch.core.errors import AppError, ErrorCode, FieldError


def aware(name: str, moment: datetime | None) -> datetime | None:
    """A `from`/`to` time must say its zone: a naive one would be read in the server's."""
    if moment is not None and moment.tzinfo is None:
        raise AppError(
            ErrorCode.VALIDATION_FAILED,
            fields=[FieldError(name, "invalid", "needs a time zone, e.g. Z")],
        )
    return moment
