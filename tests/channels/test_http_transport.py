"""What a webhook receiver's answer means for the delivery: delivered, worth a retry, or
final. Against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.http_target import HttpTarget, serving_http
from upwatch.channels.base import Delivery, attempt
from upwatch.channels.http_transport import post

HEADERS = {"Content-Type": "application/json"}


@pytest.fixture
async def http_target() -> AsyncIterator[HttpTarget]:
    async with serving_http() as target:
        yield target


async def _post(url: str, *, public_only: bool = False) -> Delivery:
    return await attempt(
        lambda: post(url, b"{}", HEADERS, public_only=public_only, limit_seconds=5)
    )


async def test_a_2xx_answer_is_delivered_with_its_status_code() -> None:
    async with serving_http() as target:
        delivery = await _post(target.url("/status/204"))

    assert (delivery.ok, delivery.status_code, delivery.error) == (True, 204, None)
    assert target.hits["/status/204"] == 1


@pytest.mark.parametrize("status", [408, 425, 429, 500, 503])
async def test_a_busy_or_failing_receiver_is_worth_a_retry(status: int) -> None:
    async with serving_http() as target:
        delivery = await _post(target.url(f"/status/{status}"))

    assert (delivery.ok, delivery.permanent, delivery.status_code) == (False, False, status)
    assert delivery.error is not None
    assert delivery.error.startswith(f"HTTP {status}")


@pytest.mark.parametrize("status", [400, 401, 404, 410])
async def test_any_other_4xx_is_final(status: int) -> None:
    async with serving_http() as target:
        delivery = await _post(target.url(f"/status/{status}"))

    assert (delivery.ok, delivery.permanent, delivery.status_code) == (False, True, status)


async def test_a_refused_connection_is_worth_a_retry() -> None:
    delivery = await _post("http://127.0.0.1:9/")  # the discard port: nothing listens

    assert (delivery.ok, delivery.permanent, delivery.status_code) == (False, False, None)
    assert delivery.error is not None


async def test_a_loopback_receiver_is_refused_for_good_when_only_public_addresses_are_allowed(
    http_target: HttpTarget,
) -> None:
    delivery = await _post(http_target.url("/ok"), public_only=True)

    assert (delivery.ok, delivery.permanent) == (False, True)
    assert delivery.error is not None
    assert "only public addresses are allowed" in delivery.error
    assert http_target.received == []
