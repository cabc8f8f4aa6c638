"""Commit at the edge: a unit of work wraps one request or one worker step.

Services and repositories use the session they are given and never commit; the edge that
opened the unit of work commits once when the work succeeded and rolls back otherwise, so a
failure never leaves half a change behind.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from upwatch.db.engine import Database


@asynccontextmanager
async def unit_of_work(database: Database, *, write: bool = True) -> AsyncIterator[AsyncSession]:
    """A session whose work commits when the block ends, or rolls back if it raises."""
    async with database.write_session() if write else database.session() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await session.commit()
