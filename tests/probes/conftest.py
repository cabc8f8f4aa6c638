"""Fixtures for probe tests: a probe context, real target servers, a certificate authority."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import trustme

from tests.support.http_target import HttpTarget, serving_http
from upwatch.probes.base import ProbeContext


@pytest.fixture
def context() -> ProbeContext:
    """What the scheduler would pass: its time, and the self-hoster's default policy."""
    return ProbeContext(now=datetime.now(UTC), public_only=False)


@pytest.fixture
def public_only(context: ProbeContext) -> ProbeContext:
    """The context of an instance that may only reach public addresses."""
    return ProbeContext(now=context.now, public_only=True)


@pytest.fixture
async def http_target() -> AsyncIterator[HttpTarget]:
    async with serving_http() as target:
        yield target


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()
