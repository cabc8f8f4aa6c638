"""The engine's settings per backend, and the unit of work that commits at the edge."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import SettingsFactory
from upwatch.api.app import create_app
from upwatch.db.engine import (
    SQLITE_BUSY_TIMEOUT_MS,
    Database,
    create_engine,
    normalize_database_url,
)
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


async def _synchronous(database: Database) -> int:
    async with database.write_engine.connect() as connection:
        return int((await connection.execute(text("PRAGMA synchronous"))).scalar_one())


async def test_sqlite_syncs_every_commit_by_default_so_acknowledged_survives_a_power_loss(
    make_settings: SettingsFactory,
) -> None:
    """By default FULL (2) syncs the WAL at each commit, so what was acknowledged survives a
    power loss or an OS crash; `UPWATCH_SQLITE_SYNCHRONOUS=normal` (1) syncs at checkpoints
    only, for those who trade that for ~3 % more pings a second."""
    default = create_app(make_settings()).state.upwatch.database
    relaxed = create_app(make_settings(sqlite_synchronous="normal")).state.upwatch.database
    try:
        assert (await _synchronous(default), await _synchronous(relaxed)) == (2, 1)
    finally:
        await default.dispose()
        await relaxed.dispose()


async def test_ping_succeeds_on_a_reachable_database(database: Database) -> None:
    await database.ping()


def test_plain_urls_get_the_async_driver() -> None:
    assert normalize_database_url("postgresql://u:p@h/db") == "postgresql+asyncpg://u:p@h/db"
    assert normalize_database_url("postgres://u@h/db") == "postgresql+asyncpg://u@h/db"
    assert normalize_database_url("sqlite:///data/x.db") == "sqlite+aiosqlite:///data/x.db"
    assert normalize_database_url("sqlite+aiosqlite:///x.db") == "sqlite+aiosqlite:///x.db"


async def _backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def _server_drops(url: str, pid: int) -> None:
    """The server ends that connection, as a restart or an idle timeout would."""
    admin = create_engine(url)
    try:
        async with admin.connect() as connection:
            await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        await admin.dispose()


async def test_a_connection_dropped_while_idle_in_the_pool_is_replaced_before_use(
    postgres_url: str,
) -> None:
    engine = create_engine(postgres_url, idle_ping_seconds=0)  # every idle one is pinged
    try:
        dropped = await _backend_pid(engine)
        await _server_drops(postgres_url, dropped)
        assert await _backend_pid(engine) != dropped  # the ping failed: a new connection
    finally:
        await engine.dispose()


async def test_a_connection_in_steady_use_is_not_pinged_and_one_failure_renews_the_pool(
    postgres_url: str,
) -> None:
    engine = create_engine(postgres_url, idle_ping_seconds=3600)
    try:
        dropped = await _backend_pid(engine)
        await _server_drops(postgres_url, dropped)
        # Not pinged (it was idle for less than the threshold): this transaction fails...
        with pytest.raises(DBAPIError) as failure:
            await _backend_pid(engine)
        assert failure.value.connection_invalidated
        # ...and the pool is renewed, so the next one succeeds on a new connection.
        assert await _backend_pid(engine) != dropped
    finally:
        await engine.dispose()
