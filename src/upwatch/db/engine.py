"""One `Database` per process: the async engine, its session factory and a readiness probe."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from upwatch.settings import SqliteSynchronous

# A writer queues on SQLite's single write lock for up to this long before failing: long
# enough to ride out a burst of group commits on a loaded machine.
SQLITE_BUSY_TIMEOUT_MS = 30_000
# A pooled PostgreSQL connection idle for longer than this is pinged before it is handed out.
IDLE_PING_SECONDS = 5.0


def normalize_database_url(url: str) -> str:
    """Give plain `postgresql://` and `sqlite://` URLs the async driver Upwatch uses."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend in {"postgresql", "postgres"} and parsed.drivername != "postgresql+asyncpg":
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif backend == "sqlite" and parsed.drivername != "sqlite+aiosqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    return parsed.render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(
    url: str,
    *,
    echo: bool = False,
    immediate: bool = False,
    idle_ping_seconds: float = IDLE_PING_SECONDS,
    sqlite_synchronous: SqliteSynchronous = "full",
) -> AsyncEngine:
    """The async engine for `url`. `immediate` (SQLite only): transactions take the write lock
    when they begin, for units of work that will write. `sqlite_synchronous`: SQLite's
    `PRAGMA synchronous` (the setting of that name). `idle_ping_seconds` (PostgreSQL): see
    `_ping_idle_connections`."""
    url = normalize_database_url(url)
    if is_sqlite(url):
        return _create_sqlite_engine(
            url, echo=echo, immediate=immediate, synchronous=sqlite_synchronous
        )
    engine = create_async_engine(url, echo=echo)
    _ping_idle_connections(engine, idle_ping_seconds)
    return engine


def _ping_idle_connections(engine: AsyncEngine, idle_seconds: float) -> None:
    """A connection that sat in the pool for more than `idle_seconds` is pinged when checked
    out, and replaced if the server dropped it (a restart, an idle timeout in between).

    SQLAlchemy's `pool_pre_ping` pings at every checkout: a round trip per transaction, 12 % of
    the CPU of a server taking pings. A connection in steady use needs none; one that fails
    anyway (the server went away within the last seconds) fails its transaction once, and
    SQLAlchemy then invalidates the whole pool, so the next checkouts reconnect.
    """
    dialect = engine.sync_engine.dialect

    @event.listens_for(engine.sync_engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since <= idle_seconds:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:  # the pool discards this connection and checks out another
            raise DisconnectionError("a pooled connection did not answer its ping") from exc


def _create_sqlite_engine(
    url: str, *, echo: bool, immediate: bool, synchronous: SqliteSynchronous
) -> AsyncEngine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})
    begin_statement = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine.sync_engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # WAL lets readers proceed while the writer commits; foreign keys are off by default in
        # SQLite; the busy timeout makes a second writer wait instead of failing at once.
        # FULL syncs the log at each commit, so an acknowledged write survives a power loss
        # (one sync per group commit of the writers); NORMAL, the default, only at
        # checkpoints: FULL cost about a quarter of the ping rate here (docs/benchmarks.md).
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute(f"PRAGMA synchronous={synchronous.upper()}")
        cursor.close()
        # We issue BEGIN ourselves (below) instead of letting the driver do it lazily.
        dbapi_connection.isolation_level = None

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Any) -> None:
        # A deferred transaction that reads and then writes fails at once (SQLITE_BUSY_SNAPSHOT)
        # if another connection committed in between; writers therefore begin IMMEDIATE and
        # queue on the write lock (busy timeout) instead.
        connection.exec_driver_sql(begin_statement)

    return engine


class Database:
    """Owns the engines; hands out sessions. Created by the edges (app, CLI, worker).

    `session()` is for reading, `write_session()` for units of work that write. They are the
    same on PostgreSQL; on SQLite the writer's transactions begin IMMEDIATE.
    """

    def __init__(
        self, url: str, *, echo: bool = False, sqlite_synchronous: SqliteSynchronous = "full"
    ) -> None:
        self.url = normalize_database_url(url)
        self.engine = create_engine(self.url, echo=echo, sqlite_synchronous=sqlite_synchronous)
        self.write_engine = (
            create_engine(
                self.url, echo=echo, immediate=True, sqlite_synchronous=sqlite_synchronous
            )
            if is_sqlite(self.url)
            else self.engine
        )
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.write_sessions = async_sessionmaker(self.write_engine, expire_on_commit=False)

    @property
    def backend(self) -> str:
        return make_url(self.url).get_backend_name()

    async def ping(self, limit_seconds: float = 2.0) -> None:
        """Raise if the database cannot answer a trivial query within `limit_seconds`."""
        async with asyncio.timeout(limit_seconds), self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def refresh_planner_statistics(self) -> None:
        """On SQLite, sample the tables for the query planner (`ANALYZE`, bounded to a few
        hundred rows per index so it stays quick on a large database). Without statistics
        SQLite took the organization filter for selective and sorted every monitor for each
        list page. PostgreSQL keeps its own statistics (autovacuum)."""
        if self.backend != "sqlite":
            return
        async with self.write_engine.connect() as connection:
            await connection.execute(text("PRAGMA analysis_limit=400"))
            await connection.execute(text("ANALYZE"))
            await connection.commit()

    def session(self) -> AsyncSession:
        return self.sessions()

    def write_session(self) -> AsyncSession:
        return self.write_sessions()

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.write_engine is not self.engine:
            await self.write_engine.dispose()
