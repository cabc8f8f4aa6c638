"""The repository base: the queries every resource of an organization needs, written once.

A resource slice subclasses `Repository` with its model and the noun its 404 names
(`GroupRepository(session).get_or_404(organization_id, group_id)` answers "No such group."),
and adds its own queries beside. Another organization's row answers exactly like a missing
one, so nobody learns which ids exist elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from uuid import UUID

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from upwatch.core.errors import AppError, ErrorCode
from upwatch.db.base import PublicIdMixin
from upwatch.db.pagination import keyset_page

ModelT = TypeVar("ModelT", bound=PublicIdMixin)


@dataclass(frozen=True, slots=True)
class Page(Generic[ModelT]):
    """One keyset page: its rows, and the key to continue after (None on the last page)."""

    rows: list[ModelT]
    next_key: UUID | None


class Repository(Generic[ModelT]):
    """Queries of one organization-owned table with a public id (`PublicIdMixin`)."""

    model: type[ModelT]
    noun: str  # "group": the 404 says "No such group."

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def owned_by(self, organization_id: int) -> Select[ModelT]:
        """The organization's rows: the start of every query of this repository."""
        return select(self.model).where(self._column("organization_id") == organization_id)

    async def find(self, organization_id: int, public_id: UUID) -> ModelT | None:
        query = self.owned_by(organization_id).where(self.model.public_id == public_id)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def get_or_404(self, organization_id: int, public_id: UUID) -> ModelT:
        found = await self.find(organization_id, public_id)
        if found is None:
            raise AppError(ErrorCode.NOT_FOUND, f"No such {self.noun}.")
        return found

    async def page(
        self,
        organization_id: int,
        *where: ColumnElement[bool],
        limit: int,
        after: UUID | None,
        descending: bool = True,
    ) -> Page[ModelT]:
        """A keyset page of the organization's rows by public id (UUIDv7: newest first when
        `descending`), filtered by `where`."""
        query = self.owned_by(organization_id).where(*where)
        rows, next_key = await keyset_page(
            self.session, query, self._key(), limit=limit, after=after, descending=descending
        )
        return Page([row[0] for row in rows], next_key)

    async def add(self, row: ModelT) -> ModelT:
        """Insert `row` now, so its id and public id are known (and constraints checked)."""
        self.session.add(row)
        await self.session.flush()
        return row

    def _key(self) -> InstrumentedAttribute[UUID]:
        return _column(self.model, "public_id")

    def _column(self, name: str) -> InstrumentedAttribute[Any]:
        return _column(self.model, name)


def _column(model: type[PublicIdMixin], name: str) -> InstrumentedAttribute[Any]:
    # The mixin declares `public_id`, each model its own `organization_id`: looked up by name
    # because a type variable cannot say "a mapped class with these columns".
    column: InstrumentedAttribute[Any] = getattr(model, name)
    return column


async def count_by(
    session: AsyncSession, column: InstrumentedAttribute[int | None], keys: list[int]
) -> dict[int, int]:
    """How many rows have each of `keys` in `column` (0 for none), in one grouped query: a
    list page counts its rows' children at once, not one query per row."""
    if not keys:
        return {}
    query = select(column, func.count()).where(column.in_(keys)).group_by(column)
    found = {key: count for key, count in await session.execute(query) if key is not None}
    return {key: found.get(key, 0) for key in keys}


async def owned_public_ids(
    session: AsyncSession, model: type[PublicIdMixin], organization_id: int, ids: list[UUID]
) -> set[UUID]:
    """Which of `ids` name rows of `model` in the organization (in one query)."""
    if not ids:
        return set()
    public_id, owner = _column(model, "public_id"), _column(model, "organization_id")
    query = select(public_id).where(owner == organization_id, public_id.in_(ids))
    return set((await session.execute(query)).scalars())
