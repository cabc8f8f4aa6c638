"""A fresh database for a benchmark run: a SQLite file in a temporary directory, or a new
PostgreSQL database created next to the one `--database-url` names (dropped afterwards)."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url


async def _recreate(server_url: str, name: str, *, create: bool) -> None:
    admin = make_url(server_url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(admin)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


@contextmanager
def fresh_database(database_url: str | None, name: str) -> Iterator[str]:
    if database_url is None or not database_url.startswith("postgres"):
        with tempfile.TemporaryDirectory() as scratch:
            yield f"sqlite:///{Path(scratch) / 'bench.db'}"
        return
    # The process id in the name: two runs at once (a benchmark and the test suite's smoke
    # run of it) must not drop each other's database.
    name = f"{name}_{os.getpid()}"
    asyncio.run(_recreate(database_url, name, create=True))
    try:
        yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_recreate(database_url, name, create=False))
