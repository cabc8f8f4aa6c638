"""A closing runner starts no more scheduled checks (they would start during the stop's
drain, only to be cut off or left unwritten), but finishes those under way and still runs an
on-demand check, which someone is waiting for."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from tests.support.engine import eventually, snapshot
from tests.support.http_target import serving_http
from upwatch.core.clock import SystemClock
from upwatch.engine.checks.runner import ClosedError, Runner


async def test_a_closed_runner_skips_queued_scheduled_checks_and_finishes_the_rest() -> None:
    clock = SystemClock()
    runner = Runner(max_concurrency=1, per_host=1, public_only=False)
    async with serving_http() as target:
        slow = replace(snapshot(), target=target.url("/slow"), timeout_seconds=30.0)
        quick = replace(snapshot(), target=target.url("/ok"), timeout_seconds=30.0)
        under_way = asyncio.ensure_future(runner.check(slow, clock.now, scheduled=True))

        async def holding_the_slot() -> bool:
            return bool(target.received)

        await eventually(holding_the_slot)  # the slow check holds the only slot
        queued = asyncio.ensure_future(runner.check(quick, clock.now, scheduled=True))
        on_demand = asyncio.ensure_future(runner.check(quick, clock.now))
        await asyncio.sleep(0)  # both now wait for the slot
        runner.close()
        target.release.set()

        finished = await under_way
        assert finished.ok
        with pytest.raises(ClosedError):
            await queued
        ran = await on_demand
        assert ran.ok
    assert target.hits["/ok"] == 1  # the on-demand check only
