"""Shared fixtures: databases on SQLite and PostgreSQL, settings, and a real HTTP server."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.databases import PostgresDatabases, SqliteDatabases, postgres_server_url
from upwatch.settings import Settings

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests build their settings explicitly; the developer's UPWATCH_* must not leak in."""
    for name in list(os.environ):
        if name.startswith("UPWATCH_") and not name.startswith("UPWATCH_TEST_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def sqlite_databases(tmp_path_factory: pytest.TempPathFactory) -> SqliteDatabases:
    return SqliteDatabases(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[PostgresDatabases | None]:
    server_url = postgres_server_url()
    if server_url is None:
        yield None
        return
    databases = PostgresDatabases(server_url)
    yield databases
    databases.close()


def _require_postgres(databases: PostgresDatabases | None) -> PostgresDatabases:
    if databases is None:
        pytest.skip("PostgreSQL tests need UPWATCH_TEST_DATABASE_URL (.ci/run sets it)")
    return databases


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_databases: SqliteDatabases,
    postgres_databases: PostgresDatabases | None,
) -> Iterator[str]:
    """A fresh, migrated database of each backend, private to the test."""
    if request.param == "sqlite":
        yield sqlite_databases.migrated(tmp_path)
        return
    databases = _require_postgres(postgres_databases)
    name, url = databases.migrated()
    yield url
    databases.drop(name)


@pytest.fixture(params=BACKENDS)
def empty_database_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_databases: SqliteDatabases,
    postgres_databases: PostgresDatabases | None,
) -> Iterator[str]:
    """A fresh database of each backend with no schema at all (for migration tests)."""
    if request.param == "sqlite":
        yield sqlite_databases.empty(tmp_path)
        return
    databases = _require_postgres(postgres_databases)
    name, url = databases.empty()
    yield url
    databases.drop(name)


SettingsFactory = Callable[..., Settings]


@pytest.fixture
def make_settings(tmp_path: Path) -> SettingsFactory:
    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {"data_dir": tmp_path / "data"}
        values.update(overrides)
        return Settings(**values)

    return build


@pytest.fixture
def sqlite_settings(make_settings: SettingsFactory, tmp_path: Path) -> Settings:
    """Settings on a SQLite database that is migrated lazily (enough for edge tests)."""
    return make_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'edge.db'}")
