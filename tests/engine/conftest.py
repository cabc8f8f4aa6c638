"""Fixtures for engine tests: a migrated database of each backend with one organization."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.conftest import SettingsFactory
from tests.support.accounts import Seeder, Tenant
from tests.support.engine import World, organization_id_of
from upwatch.db.engine import Database


@pytest.fixture
def tenant(database_url: str) -> Tenant:
    return Seeder(database_url).tenant()


@pytest.fixture
async def world(
    database_url: str, tenant: Tenant, make_settings: SettingsFactory
) -> AsyncIterator[World]:
    database = Database(database_url)
    try:
        organization_id = await organization_id_of(database, tenant.organization_id)
        yield World(database, make_settings(database_url=database_url), organization_id)
    finally:
        await database.dispose()
