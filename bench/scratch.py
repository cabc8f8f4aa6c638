"""A fresh database for a benchmark run: a SQLite file in a temporary directory, or a new
PostgreSQL database created next to the one `--database-url` names (dropped afterwards).

`--database-url` takes every form the product's `UPWATCH_DATABASE_URL` takes
(`postgresql://`, `postgres://`, `postgresql+asyncpg://`, `sqlite:///...`,
`sqlite+aiosqlite:///...`); `fresh_database` yields the scratch database as a plain,
driver-free URL (`postgresql://...` or `sqlite:///...`), which the product, asyncpg and
sqlite3 all read, and `backend` names its kind.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
from sqlalchemy.engine import URL, make_url

POSTGRES_SCHEMES = {"postgresql", "postgres"}


def backend(database_url: str | None) -> str:
    """`postgresql` or `sqlite` (also for no URL: the benchmarks' default), whatever the
    driver the URL names; an unknown scheme is refused with the URL's scheme in the message."""
    if database_url is None:
        return "sqlite"
    name = make_url(database_url).get_backend_name()
    if name in POSTGRES_SCHEMES:
        return "postgresql"
    if name == "sqlite":
        return "sqlite"
    raise SystemExit(f"--database-url: {name}:// is not a sqlite:// or postgresql:// URL")


def _plain_postgres(url: str | URL) -> URL:
    """The URL without a driver (`postgresql://`), as asyncpg and `psql` read it."""
    return make_url(url).set(drivername="postgresql")


def add_sqlite_synchronous(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sqlite-synchronous",
        choices=["normal", "full"],
        help="the server's UPWATCH_SQLITE_SYNCHRONOUS (default: the product's default)",
    )


def sqlite_synchronous_env(args: argparse.Namespace) -> dict[str, str]:
    chosen: str | None = args.sqlite_synchronous
    return {} if chosen is None else {"UPWATCH_SQLITE_SYNCHRONOUS": chosen}


async def _recreate(server_url: str, name: str, *, create: bool) -> None:
    admin = _plain_postgres(server_url).render_as_string(hide_password=False)
    connection = await asyncpg.connect(admin)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


@contextmanager
def fresh_database(database_url: str | None, name: str) -> Iterator[str]:
    if backend(database_url) == "sqlite":
        with tempfile.TemporaryDirectory() as scratch:
            yield f"sqlite:///{Path(scratch) / 'bench.db'}"
        return
    # The process id in the name: two runs at once (a benchmark and the test suite's smoke
    # run of it) must not drop each other's database.
    name = f"{name}_{os.getpid()}"
    asyncio.run(_recreate(database_url, name, create=True))
    try:
        scratch = _plain_postgres(database_url).set(database=name)
        yield scratch.render_as_string(hide_password=False)
    finally:
        asyncio.run(_recreate(database_url, name, create=False))
