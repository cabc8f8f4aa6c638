"""Migrations upgrade and downgrade cleanly, and agree with the models, on both databases."""

from __future__ import annotations

import asyncio

from sqlalchemy import inspect

from upwatch.db import migrate
from upwatch.db.engine import create_engine


def _tables(url: str) -> set[str]:
    async def read() -> set[str]:
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
        finally:
            await engine.dispose()
        return set(names)

    return asyncio.run(read())


def test_upgrade_to_head_matches_the_models(empty_database_url: str) -> None:
    migrate.upgrade(empty_database_url)
    migrate.check(empty_database_url)  # raises if a model change lacks a migration
    assert "alembic_version" in _tables(empty_database_url)


def test_downgrade_to_base_then_upgrade_again_round_trips(empty_database_url: str) -> None:
    migrate.upgrade(empty_database_url)
    at_head = _tables(empty_database_url)
    migrate.downgrade(empty_database_url, "base")
    assert _tables(empty_database_url) <= {"alembic_version"}
    migrate.upgrade(empty_database_url)
    assert _tables(empty_database_url) == at_head


def test_upgrading_an_up_to_date_database_changes_nothing(empty_database_url: str) -> None:
    migrate.upgrade(empty_database_url)
    before = _tables(empty_database_url)
    migrate.upgrade(empty_database_url)
    assert _tables(empty_database_url) == before
