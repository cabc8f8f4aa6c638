"""Shared fixtures: databases on SQLite and PostgreSQL, settings, and a real HTTP server."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from hypothesis import settings as hypothesis_settings

from tests.support.accounts import Seeder
from tests.support.databases import PostgresDatabases, SqliteDatabases, postgres_server_url
from tests.support.private_postgres import PrivatePostgres, server_binaries
from tests.support.server import Hosted, hosting
from upwatch.api.app import create_app
from upwatch.settings import Settings

# Property tests judge behaviour, not speed: Hypothesis' per-example deadline (200 ms) fails
# them on a loaded 2-core machine, and timing belongs in bench/.
hypothesis_settings.register_profile("upwatch", deadline=None)
hypothesis_settings.load_profile("upwatch")

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session", autouse=True)
def _logs_through_stdlib_logging() -> None:
    """Route structlog through stdlib logging, which pytest captures per test, instead of
    printing from server threads into whatever test happens to be running."""
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.KeyValueRenderer(),
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


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
    """A migrated database of each backend holding nothing but what the test puts there: on
    SQLite a copy of its own, on PostgreSQL the test process's database, emptied (tests
    needing a PostgreSQL database of their own take `postgres_url`)."""
    if request.param == "sqlite":
        yield sqlite_databases.migrated(tmp_path)
        return
    yield _require_postgres(postgres_databases).reset_shared()


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


@pytest.fixture
def postgres_url(postgres_databases: PostgresDatabases | None) -> Iterator[str]:
    """A fresh migrated PostgreSQL database, for what only PostgreSQL does (LISTEN/NOTIFY,
    worker processes, its connections); skipped with the reason when it is not configured."""
    databases = _require_postgres(postgres_databases)
    name, url = databases.migrated()
    yield url
    databases.drop(name)


@pytest.fixture(scope="session")
def private_postgres_server() -> Iterator[PrivatePostgres]:
    """A PostgreSQL cluster of this test session's own (initdb runs once per session)."""
    binaries = server_binaries()
    if binaries is None:
        reason = "the database outage tests need PostgreSQL's initdb and pg_ctl (postgresql)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}: not installed on this CI machine")
        print(f"SKIPPED: {reason}")
        pytest.skip(reason)
    server = PrivatePostgres(binaries)
    yield server
    server.close()


@pytest.fixture
def private_postgres(private_postgres_server: PrivatePostgres) -> PrivatePostgres:
    """The private server, running (a test before may have left it stopped); stop and start
    it to play an outage."""
    if not private_postgres_server.running:
        private_postgres_server.start()
    return private_postgres_server


SettingsFactory = Callable[..., Settings]


@pytest.fixture
def make_settings(tmp_path: Path, sqlite_databases: SqliteDatabases) -> SettingsFactory:
    """Settings for a test; by default on a fresh migrated SQLite database of its own."""

    def build(**overrides: Any) -> Settings:
        # Scheduled checks are off unless a test turns them on: a monitor made only to test
        # the API (https://alpha.example.com/) must never be checked, which would send
        # traffic off this machine. Tests of the scheduler pass run_checks=True and point
        # their monitors at loopback.
        values: dict[str, Any] = {"data_dir": tmp_path / "data", "run_checks": False}
        if "database_url" not in overrides:
            values["database_url"] = sqlite_databases.migrated(tmp_path)
        values.update(overrides)
        return Settings(**values)

    return build


@pytest.fixture
def sqlite_settings(make_settings: SettingsFactory) -> Settings:
    """Settings on a migrated SQLite database (enough for edge tests)."""
    return make_settings()


class ApiHarness:
    """The app on a fresh database of one backend (in process, or a real server), plus a
    seeder for that database."""

    def __init__(
        self,
        base_url: str,
        settings: Settings,
        seeder: Seeder,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url
        self.settings = settings
        self.seed = seeder
        self.transport = transport

    @classmethod
    def hosted(cls, hosted: Hosted, settings: Settings) -> ApiHarness:
        return cls(
            hosted.base_url, settings, Seeder(settings.effective_database_url), hosted.transport
        )

    def client(self, token: str | None = None, **headers: str) -> httpx.Client:
        sent = {"Authorization": f"Bearer {token}"} if token else {}
        sent.update(headers)
        return httpx.Client(
            base_url=self.base_url, headers=sent, timeout=30, transport=self.transport
        )


def wants_real_server(request: pytest.FixtureRequest) -> bool:
    """Whether the test is marked `real_server` (it needs a socket: see tests/support/server)."""
    return request.node.get_closest_marker("real_server") is not None


@pytest.fixture
def api_settings(make_settings: SettingsFactory, database_url: str) -> Settings:
    """Override in a test module to change settings (rate limits, quotas...)."""
    return make_settings(database_url=database_url)


@pytest.fixture
def api(request: pytest.FixtureRequest, api_settings: Settings) -> Iterator[ApiHarness]:
    """The app on each backend (SQLite, PostgreSQL): in process, or served over real HTTP for
    tests marked `real_server`."""
    with hosting(create_app(api_settings), real_server=wants_real_server(request)) as hosted:
        yield ApiHarness.hosted(hosted, api_settings)
