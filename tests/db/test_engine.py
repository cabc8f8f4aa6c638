"""The engine's settings per backend, and the unit of work that commits at the edge."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select, text

from upwatch.db.engine import SQLITE_BUSY_TIMEOUT_MS, Database, normalize_database_url
from upwatch.db.unit_of_work import unit_of_work

scratch = MetaData()
notes = Table(
    "test_notes", scratch, Column("id", Integer, primary_key=True), Column("body", String(50))
)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    async with db.engine.begin() as connection:
        await connection.run_sync(scratch.create_all)
    yield db
    await db.dispose()


async def _count(database: Database) -> int:
    async with database.session() as session:
        return int((await session.execute(select(func.count()).select_from(notes))).scalar_one())


async def test_a_unit_of_work_commits_when_the_work_succeeds(database: Database) -> None:
    async with unit_of_work(database) as session:
        await session.execute(insert(notes).values(body="kept"))
    assert await _count(database) == 1


async def test_a_unit_of_work_rolls_everything_back_when_the_work_fails(
    database: Database,
) -> None:
    async def write_two_notes_then_fail() -> None:
        async with unit_of_work(database) as session:
            await session.execute(insert(notes).values(body="first"))
            await session.execute(insert(notes).values(body="second"))
            raise RuntimeError("the work failed half-way")

    with pytest.raises(RuntimeError, match="half-way"):
        await write_two_notes_then_fail()
    assert await _count(database) == 0


async def test_sqlite_runs_in_wal_mode_with_foreign_keys_enforced(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'pragmas.db'}")
    async with database.engine.connect() as connection:
        journal = (await connection.execute(text("PRAGMA journal_mode"))).scalar_one()
        foreign_keys = (await connection.execute(text("PRAGMA foreign_keys"))).scalar_one()
        busy = (await connection.execute(text("PRAGMA busy_timeout"))).scalar_one()
    await database.dispose()
    assert (journal, foreign_keys, busy) == ("wal", 1, SQLITE_BUSY_TIMEOUT_MS)


async def test_ping_succeeds_on_a_reachable_database(database: Database) -> None:
    await database.ping()


def test_plain_urls_get_the_async_driver() -> None:
    assert normalize_database_url("postgresql://u:p@h/db") == "postgresql+asyncpg://u:p@h/db"
    assert normalize_database_url("postgres://u@h/db") == "postgresql+asyncpg://u@h/db"
    assert normalize_database_url("sqlite:///data/x.db") == "sqlite+aiosqlite:///data/x.db"
    assert normalize_database_url("sqlite+aiosqlite:///x.db") == "sqlite+aiosqlite:///x.db"
