"""Migrations upgrade and downgrade cleanly, and agree with the models, on both databases."""

from __future__ import annotations

import asyncio
import json

from sqlalchemy import inspect, text

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


def _run(url: str, *statements: str) -> list[tuple[object, ...]]:
    async def work() -> list[tuple[object, ...]]:
        engine = create_engine(url)
        try:
            async with engine.begin() as connection:
                rows: list[tuple[object, ...]] = []
                for statement in statements:
                    result = await connection.execute(text(statement))
                    rows = [tuple(row) for row in result] if result.returns_rows else []
                return rows
        finally:
            await engine.dispose()

    return asyncio.run(work())


def test_audit_rows_written_with_the_old_names_and_shape_read_like_new_ones(
    empty_database_url: str,
) -> None:
    """`channel.created` with `{"old", "new"}` becomes `channel.create` with `{"from", "to"}`:
    one vocabulary for filters and readers, whatever a row's age."""
    migrate.upgrade(empty_database_url, "3c9e5b1f7a42")
    _run(
        empty_database_url,
        "INSERT INTO organizations (public_id, name, created_at) "
        "VALUES ('0190c1d2-0000-7000-8000-000000000001', 'Org', '2026-12-01 00:00:00')",
        "INSERT INTO audit_logs (public_id, organization_id, source, action, resource_type, "
        "changes, created_at) VALUES ('0190c1d2-0000-7000-8000-000000000002', "
        "(SELECT id FROM organizations), 'api', 'channel.created', 'channel', "
        """'{"name": {"old": null, "new": "Ops"}}', '2026-12-01 00:00:00')""",
    )

    migrate.upgrade(empty_database_url)

    [(action, changes)] = _run(empty_database_url, "SELECT action, changes FROM audit_logs")
    assert action == "channel.create"
    stored = json.loads(changes) if isinstance(changes, str) else changes
    assert stored == {"name": {"from": None, "to": "Ops"}}
