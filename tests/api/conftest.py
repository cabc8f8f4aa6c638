"""Fixtures shared by the API tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from typing import Any

import httpx
import pytest

from tests.conftest import ApiHarness, SettingsFactory, wants_real_server
from tests.support.accounts import Seeder, Tenant
from tests.support.alerting import SETTINGS, Local, LocalHttp, Start, Upwatch
from tests.support.engine import ManualClock
from tests.support.server import hosting
from upwatch.api.app import create_app
from upwatch.core.clock import Clock

Serve = Callable[..., ApiHarness]


@pytest.fixture
def serve(
    request: pytest.FixtureRequest, make_settings: SettingsFactory, database_url: str
) -> Iterator[Serve]:
    """Start the app with these settings on the test's database (in process, or a real server
    for tests marked `real_server`). Each call is a new instance (fresh in-memory rate-limit
    counters); all stop when the test ends."""
    real_server = wants_real_server(request)
    with ExitStack() as stack:

        def start(**overrides: Any) -> ApiHarness:
            settings = make_settings(database_url=database_url, **overrides)
            app = create_app(settings)
            return ApiHarness.hosted(
                stack.enter_context(hosting(app, real_server=real_server)), settings
            )

        yield start


@pytest.fixture
def tenant(api: ApiHarness) -> Tenant:
    """A fresh organization with its owner (a `*` token); modules may define their own."""
    return api.seed.tenant()


@pytest.fixture
def http(api: ApiHarness, tenant: Tenant) -> Iterator[httpx.Client]:
    """A client of `api` authenticated as the tenant's owner."""
    with api.client(tenant.owner.token) as client:
        yield client


@pytest.fixture
def local() -> Iterator[Local]:
    """Start local HTTP servers (`local(script=[500, 200])`); all stop when the test ends,
    after the app (this fixture is set up before it)."""
    started: list[LocalHttp] = []

    def start(script: Sequence[int] = (), status: int = 200) -> LocalHttp:
        server = LocalHttp(script, status)
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def start(
    request: pytest.FixtureRequest, make_settings: SettingsFactory, database_url: str
) -> Iterator[Start]:
    """`start(clock=..., **settings)`: the app on the test's database (each backend), with
    the dispatcher on, polling every 0.2 s, allowed to deliver to loopback; in process, or a
    real server for tests marked `real_server`."""
    real_server = wants_real_server(request)
    with ExitStack() as stack:

        def run(*, clock: ManualClock | None = None, **overrides: Any) -> Upwatch:
            settings = make_settings(database_url=database_url, **{**SETTINGS, **overrides})
            app_clock: Clock | None = clock
            app = create_app(settings, clock=app_clock)
            hosted = stack.enter_context(hosting(app, real_server=real_server))
            seed = Seeder(settings.effective_database_url)
            tenant = seed.tenant()
            http = stack.enter_context(
                hosted.client(headers={"Authorization": f"Bearer {tenant.owner.token}"})
            )
            return Upwatch(hosted.base_url, settings, seed, tenant, http, clock)

        yield run
