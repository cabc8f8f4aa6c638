"""Keyset pagination on a time-ordered UUIDv7 column: stable under inserts, constant cost
for any page, no OFFSET scans."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute


async def keyset_page(
    session: AsyncSession,
    query: Select[*tuple[Any, ...]],
    key: InstrumentedAttribute[UUID],
    *,
    limit: int,
    after: UUID | None,
    descending: bool = True,
) -> tuple[Sequence[Any], UUID | None]:
    """Up to `limit` rows after the key `after`, and the key to continue from (None at the
    end). The first entity `query` selects must be the model that `key` belongs to."""
    if after is not None:
        query = query.where(key < after if descending else key > after)
    query = query.order_by(key.desc() if descending else key.asc()).limit(limit + 1)
    rows = (await session.execute(query)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    next_key: UUID | None = getattr(rows[-1][0], key.key) if more and rows else None
    return rows, next_key


async def sorted_keyset_page(
    session: AsyncSession,
    query: Select[*tuple[Any, ...]],
    sort: InstrumentedAttribute[Any],
    key: InstrumentedAttribute[UUID],
    *,
    limit: int,
    after: tuple[Any, UUID] | None,
    descending: bool,
) -> tuple[Sequence[Any], tuple[Any, UUID] | None]:
    """Keyset pages ordered by a non-null `sort` column, ties broken by `key`.

    `after` is the (sort value, key) of the last row of the previous page. The first entity
    `query` selects must be the model both columns belong to.
    """
    if after is not None:
        value, last = after
        # The plain bound on `sort` comes first so that both planners walk an index on
        # (..., sort, key) from the cursor on: the OR alone is a filter, and a deep page would
        # then read every row before it.
        if descending:
            query = query.where(sort <= value, (sort < value) | (key < last))
        else:
            query = query.where(sort >= value, (sort > value) | (key > last))
    order = (sort.desc(), key.desc()) if descending else (sort.asc(), key.asc())
    rows = (await session.execute(query.order_by(*order).limit(limit + 1))).all()
    more = len(rows) > limit
    rows = rows[:limit]
    if not (more and rows):
        return rows, None
    return rows, (getattr(rows[-1][0], sort.key), getattr(rows[-1][0], key.key))
