"""Isolated databases for tests: one migrated template per run, one copy per test.

SQLite: the template is a file, copied per test. PostgreSQL (UPWATCH_TEST_DATABASE_URL set):
the template is a database, and each test gets `CREATE DATABASE ... TEMPLATE` of it, dropped
afterwards. Either way a test sees a fresh, fully migrated schema and nothing of any other.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from upwatch.db import migrate

POSTGRES_ENV = "UPWATCH_TEST_DATABASE_URL"
_counter = itertools.count()


def postgres_server_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


def _dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def _sqlalchemy_url(server_url: str, database: str) -> str:
    parsed = make_url(server_url).set(drivername="postgresql+asyncpg", database=database)
    return parsed.render_as_string(hide_password=False)


async def _admin(server_url: str, *statements: str) -> None:
    connection = await asyncpg.connect(_dsn(server_url))
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


class PostgresDatabases:
    """Creates per-test databases on the server named by UPWATCH_TEST_DATABASE_URL."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.prefix = f"upwatch_t{os.getpid()}"
        self.template = f"{self.prefix}_template"
        self._template_ready = False

    def empty(self) -> tuple[str, str]:
        return self._recreate(f"{self.prefix}_{next(_counter)}")

    def migrated(self) -> tuple[str, str]:
        if not self._template_ready:
            _, url = self._recreate(self.template)
            migrate.upgrade(url)
            self._template_ready = True
        name = f"{self.prefix}_{next(_counter)}"
        asyncio.run(_admin(self.server_url, f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'))
        return name, _sqlalchemy_url(self.server_url, name)

    def _recreate(self, name: str) -> tuple[str, str]:
        asyncio.run(
            _admin(
                self.server_url,
                f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
                f'CREATE DATABASE "{name}"',
            )
        )
        return name, _sqlalchemy_url(self.server_url, name)

    def drop(self, name: str) -> None:
        asyncio.run(_admin(self.server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        if self._template_ready:
            self.drop(self.template)


class SqliteDatabases:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.template = root / "template.db"
        self._template_ready = False

    def empty(self, directory: Path) -> str:
        return f"sqlite+aiosqlite:///{directory / 'upwatch.db'}"

    def migrated(self, directory: Path) -> str:
        if not self._template_ready:
            migrate.upgrade(f"sqlite+aiosqlite:///{self.template}")
            self._template_ready = True
        target = directory / "upwatch.db"
        shutil.copyfile(self.template, target)
        return f"sqlite+aiosqlite:///{target}"
