"""Fixtures shared by the API tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from tests.conftest import ApiHarness, SettingsFactory
from tests.support.accounts import Seeder
from tests.support.server import serving
from upwatch.api.app import create_app

Serve = Callable[..., ApiHarness]


@pytest.fixture
def serve(make_settings: SettingsFactory, database_url: str) -> Iterator[Serve]:
    """Start the real app with these settings on the test's database. Each call is a new
    instance (fresh in-memory rate-limit counters); all stop when the test ends."""
    with ExitStack() as stack:

        def start(**overrides: Any) -> ApiHarness:
            settings = make_settings(database_url=database_url, **overrides)
            base_url = stack.enter_context(serving(create_app(settings)))
            return ApiHarness(base_url, settings, Seeder(settings.effective_database_url))

        yield start
