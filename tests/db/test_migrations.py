"""Migrations upgrade and downgrade cleanly, and agree with the models, on both databases."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Executable,
    Integer,
    String,
    Uuid,
    column,
    inspect,
    table,
    text,
)

from upwatch.crypto import SecretBox
from upwatch.db import migrate
from upwatch.db.engine import create_engine

BEFORE_SEALED_WEBHOOK_URLS = "8a4f0c2d6e17"
INSTANCE_KEY = "a test instance key that is long enough"


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


def _execute(url: str, statement: Executable) -> list[Any]:
    async def run() -> list[Any]:
        engine = create_engine(url)
        try:
            async with engine.begin() as connection:
                result = await connection.execute(statement)
                return list(result.all()) if result.returns_rows else []
        finally:
            await engine.dispose()

    return asyncio.run(run())


# The tables as they were at BEFORE_SEALED_WEBHOOK_URLS: URLs in plain text.
_ORGANIZATIONS = table(
    "organizations",
    column("id", Integer), column("public_id", Uuid), column("name", String),
    column("created_at", DateTime(timezone=True)),
)  # fmt: skip
_WEBHOOKS = table(
    "webhooks",
    column("id", Integer), column("public_id", Uuid), column("organization_id", Integer),
    column("url", String), column("event_types", JSON), column("is_enabled", Boolean),
    column("consecutive_failures", Integer), column("created_at", DateTime(timezone=True)),
    column("updated_at", DateTime(timezone=True)),
)  # fmt: skip


def _webhook_row(url: str, endpoint: str) -> None:
    now = datetime.now(UTC)
    _execute(url, _ORGANIZATIONS.insert().values(id=1, public_id=uuid.uuid4(), name="Org",
                                                   created_at=now))  # fmt: skip
    _execute(
        url,
        _WEBHOOKS.insert().values(
            id=1, public_id=uuid.uuid4(), organization_id=1, url=endpoint, event_types=["*"],
            is_enabled=True, consecutive_failures=0, created_at=now, updated_at=now,
        ),
    )  # fmt: skip


def test_upgrading_seals_the_plaintext_urls_of_webhook_subscriptions(
    empty_database_url: str,
) -> None:
    endpoint = "https://hooks.example.com/services/T0KEN"
    migrate.upgrade(empty_database_url, BEFORE_SEALED_WEBHOOK_URLS)
    _webhook_row(empty_database_url, endpoint)

    migrate.upgrade(empty_database_url, instance_key=INSTANCE_KEY)

    [(sealed, host)] = _execute(
        empty_database_url, text("SELECT secret_url, url_host FROM webhooks")
    )
    assert SecretBox(INSTANCE_KEY, "webhook-secrets").decrypt(bytes(sealed)) == endpoint.encode()
    assert host == "hooks.example.com"
    assert b"T0KEN" not in bytes(sealed)
    columns = _execute(empty_database_url, text("SELECT * FROM webhooks"))
    assert "T0KEN" not in repr(columns)

    migrate.downgrade(empty_database_url, BEFORE_SEALED_WEBHOOK_URLS, instance_key=INSTANCE_KEY)
    assert _execute(empty_database_url, text("SELECT url FROM webhooks")) == [(endpoint,)]


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
