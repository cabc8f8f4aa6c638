"""What every resource router does the same way: read a page from a cursor, answer a creation
with `201` and a `Location`, and document that header."""

from __future__ import annotations

from typing import Any, TypeVar
from uuid import UUID

from fastapi import Response
from sqlalchemy import ColumnElement

from upwatch.api.pagination import decode_cursor
from upwatch.db.base import PublicIdMixin
from upwatch.db.repository import Page, Repository

ModelT = TypeVar("ModelT", bound=PublicIdMixin)

# `responses=CREATED` on a `status_code=201` route documents the `Location` header `locate`
# sets (FastAPI merges it into the route's own 201 response).
CREATED: dict[int | str, dict[str, Any]] = {
    201: {
        "headers": {
            "Location": {
                "description": "The URL of the created resource.",
                "schema": {"type": "string"},
            }
        }
    }
}


def locate(response: Response, collection: str, public_id: UUID) -> None:
    """Point the 201 answer at the new resource, `<collection>/<id>` (RFC 9110 §15.3.2)."""
    response.headers["Location"] = f"{collection}/{public_id}"


async def list_page(
    repository: Repository[ModelT],
    organization_id: int,
    *where: ColumnElement[bool],
    limit: int,
    cursor: str | None,
    descending: bool = True,
) -> Page[ModelT]:
    """The page of the organization's rows after `cursor` (a `next_cursor` this API gave)."""
    return await repository.page(
        organization_id, *where, limit=limit, after=decode_cursor(cursor), descending=descending
    )
