"""Cursor parameters and the list envelope: `{"data": [...], "pagination": {...}}`."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any
from uuid import UUID

from fastapi import Query
from pydantic import BaseModel

from upwatch.core.errors import AppError, ErrorCode, FieldError

DEFAULT_LIMIT = 25
MAX_LIMIT = 100

Limit = Annotated[
    int, Query(ge=1, le=MAX_LIMIT, description="Items per page (1-100). Out of range is a 400.")
]
CursorParam = Annotated[
    str | None, Query(description="`next_cursor` of the previous page; omit for the first.")
]


class Pagination(BaseModel):
    limit: int
    next_cursor: str | None


def encode_cursor(after: UUID | None) -> str | None:
    if after is None:
        return None
    raw = json.dumps({"after": str(after)}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> UUID | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        after = json.loads(raw)["after"]
        return UUID(after if isinstance(after, str) else "not a uuid")
    except (binascii.Error, ValueError, KeyError, TypeError, json.JSONDecodeError):
        raise AppError(
            ErrorCode.VALIDATION_FAILED,
            fields=[FieldError("cursor", "invalid", "is not a cursor this API returned")],
        ) from None


def pagination(limit: int, after: UUID | None) -> Pagination:
    return Pagination(limit=limit, next_cursor=encode_cursor(after))


def encode_sorted_cursor(after: tuple[Any, UUID] | None) -> str | None:
    """A cursor for pages sorted by another column: the last row's value and id."""
    if after is None:
        return None
    value = str(after[0]) if isinstance(after[0], UUID) else after[0]
    raw = json.dumps({"after": str(after[1]), "value": value}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_sorted_cursor(cursor: str | None) -> tuple[Any, UUID] | None:
    if not cursor:
        return None
    key = decode_cursor(cursor)
    raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    value = raw.get("value")
    if key is None or not isinstance(value, str | int | float):
        raise AppError(
            ErrorCode.VALIDATION_FAILED,
            fields=[FieldError("cursor", "invalid", "is not a cursor this API returned")],
        )
    return value, key
