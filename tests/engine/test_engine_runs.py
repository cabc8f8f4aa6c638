"""The engine end to end: real checks of a real server, stored, announced, restarted."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise

import pytest

from tests.support.engine import ShiftedClock, World, eventually, received, running
from tests.support.http_target import serving_http
from upwatch.events.bus import Filter
from upwatch.models import CheckResult

INTERVAL = timedelta(seconds=1)


def whole_intervals(later: datetime, earlier: datetime) -> bool:
    """`later` is one or more whole intervals after `earlier`: the same phase."""
    span = later - earlier
    return span > timedelta(0) and span % INTERVAL == timedelta(0)


async def test_scheduled_checks_are_stored_with_the_monitors_state(world: World) -> None:
    async with serving_http() as target:
        monitors = [await world.monitor(target.url("/ok"), name=f"site {n}") for n in range(3)]
        async with running(world.engine()):
            for monitor in monitors:
                await world.results_reaching(monitor.id, 3)

    assert target.hits["/ok"] >= 9
    for monitor in monitors:
        results = await world.results(monitor.id)
        assert all(r.ok and r.status == "up" and r.status_code == 200 for r in results)
        assert all(r.latency_ms is not None and r.latency_ms > 0 for r in results)
        assert all(r.checked_at >= r.scheduled_at for r in results)
        slots = [r.scheduled_at for r in results]
        assert all(whole_intervals(b, a) for a, b in pairwise(slots))

        state = await world.state(monitor.id)
        assert state.status == state.check_status == "up"
        assert state.last_status_code == 200
        assert state.last_check_at == results[-1].checked_at
        assert state.next_run_at is not None
        assert state.next_run_at > state.last_check_at
        assert whole_intervals(state.next_run_at, results[-1].scheduled_at)
        assert state.consecutive_successes == state.latency_count == len(results)
        assert state.latency_sum_ms == pytest.approx(sum(r.latency_ms or 0 for r in results))

        changes = await world.state_changes(monitor.id)
        assert [(c.from_status, c.to_status, c.reason) for c in changes] == [
            ("pending", "up", "check succeeded")
        ]
        assert changes[0].created_at == results[0].checked_at


async def test_a_monitor_goes_down_after_its_failure_threshold_with_the_error_as_reason(
    world: World,
) -> None:
    bus = world.bus.subscribe(Filter(organization_id=world.organization_id))
    async with running(world.engine()) as engine:
        async with serving_http() as target:
            monitor = await world.monitor(target.url("/ok"), failure_threshold=2)
            await engine.refresh([monitor.id])
            await world.results_reaching(monitor.id, 2)
        # The target has stopped: connections are refused.

        async def down() -> bool:
            return (await world.state(monitor.id)).status == "down"

        await eventually(down)

    results = await world.results(monitor.id)
    state = await world.state(monitor.id)
    assert state.last_error_code == "CONNECTION_REFUSED"
    assert state.consecutive_failures >= 2
    first_failure = next(i for i, r in enumerate(results) if not r.ok)
    assert [r.status for r in results[first_failure : first_failure + 2]] == ["up", "down"]
    assert results[first_failure].error_code == "CONNECTION_REFUSED"

    changes = await world.state_changes(monitor.id)
    assert [(c.from_status, c.to_status) for c in changes] == [("pending", "up"), ("up", "down")]
    assert changes[1].reason.startswith("2 consecutive failures (CONNECTION_REFUSED: ")
    assert "refused the connection" in changes[1].reason
    assert changes[1].created_at == results[first_failure + 1].checked_at

    events = [e for e in await received(bus) if e.resource_id == str(monitor.public_id)]
    completed = [e for e in events if e.type == "monitor.check_completed"]
    assert [e.data["checked_at"] for e in completed] == sorted(
        e.data["checked_at"] for e in completed
    )
    assert [e.data["ok"] for e in completed] == [r.ok for r in results]
    changed = [(i, e) for i, e in enumerate(events) if e.type == "monitor.status_changed"]
    assert [(e.data["from"], e.data["to"]) for _, e in changed] == [
        ("pending", "up"),
        ("up", "down"),
    ]
    for index, event in changed:  # announced right after the check that caused it
        before = events[index - 1]
        assert before.type == "monitor.check_completed"
        assert before.data["status"] == event.data["to"]
    assert changed[1][1].data["reason"] == changes[1].reason
    assert {e.type for e in events} == {"monitor.check_completed", "monitor.status_changed"}


async def test_pausing_a_monitor_and_refreshing_the_engine_stops_its_checks(world: World) -> None:
    async with serving_http() as target:
        paused = await world.monitor(target.url("/ok"), name="paused")
        witness = await world.monitor(target.url("/ok"), name="witness")
        async with running(world.engine()) as engine:
            await world.results_reaching(paused.id, 1)

            await world.set_active(paused, False)
            await engine.refresh([paused.id])
            assert engine.scheduler.slot_of(paused.id) is None
            # A check that had already started may still land; then nothing more.
            seen = len(await world.results(witness.id))
            await world.results_reaching(witness.id, seen + 2)
            stopped_at = len(await world.results(paused.id))
            seen = len(await world.results(witness.id))
            await world.results_reaching(witness.id, seen + 2)

            assert len(await world.results(paused.id)) == stopped_at
            assert (await world.state(paused.id)).status == "paused"

            await world.set_active(paused, True)
            await engine.refresh([paused.id])
            await world.results_reaching(paused.id, stopped_at + 2)

    state = await world.state(paused.id)
    assert state.status == "up"
    assert state.next_run_at is not None


async def test_deleting_a_monitor_and_refreshing_the_engine_stops_its_checks(
    world: World,
) -> None:
    async with serving_http() as target:
        deleted = await world.monitor(target.url("/ok"), name="deleted")
        witness = await world.monitor(target.url("/ok"), name="witness")
        async with running(world.engine()) as engine:
            await world.results_reaching(deleted.id, 1)

            await world.remove(deleted)
            await engine.refresh([deleted.id])
            assert engine.scheduler.slot_of(deleted.id) is None
            seen = len(await world.results(witness.id))
            await world.results_reaching(witness.id, seen + 3)

    assert await world.results(deleted.id) == []
    assert len(engine.scheduler) == 1
    assert (await world.state(witness.id)).status == "up"


async def test_a_check_in_flight_when_its_monitor_is_paused_leaves_it_paused(
    world: World,
) -> None:
    async with serving_http() as target:
        monitor = await world.monitor(target.url("/slow"), interval_seconds=2, timeout_ms=1500)
        async with running(world.engine()) as engine:

            async def in_flight() -> bool:
                return target.hits["/slow"] >= 1

            await eventually(in_flight)
            await world.set_active(monitor, False)
            await engine.refresh([monitor.id])
            target.release.set()  # the check that had started now succeeds
            await world.results_reaching(monitor.id, 1)

    assert (await world.state(monitor.id)).status == "paused"
    assert await world.state_changes(monitor.id) == []


async def test_run_now_returns_once_the_check_is_stored(world: World) -> None:
    async with serving_http() as target:
        monitor = await world.monitor(
            target.url("/status/503"), execution_mode="on_demand", interval_seconds=60
        )
        async with running(world.engine(), schedule_checks=False) as engine:
            record = await engine.run_now(monitor.id)

            results = await world.results(monitor.id)
            state = await world.state(monitor.id)

    assert not record.ok
    assert [(r.checked_at, r.ok, r.status_code) for r in results] == [
        (record.checked_at, False, 503)
    ]
    assert state.last_check_at == record.checked_at
    assert state.last_status_code == 503
    assert state.consecutive_failures == 1
    assert state.status == "pending"  # one failure of two
    assert state.next_run_at is None  # on demand: never scheduled


async def test_run_now_of_an_unknown_monitor_raises_lookup_error(world: World) -> None:
    async with running(world.engine(), schedule_checks=False) as engine:
        with pytest.raises(LookupError):
            await engine.run_now(10**9)


async def test_a_restarted_engine_continues_from_the_persisted_state_without_a_burst(
    world: World,
) -> None:
    async with serving_http() as target:
        monitor = await world.monitor(target.url("/ok"))
        async with running(world.engine()):
            await world.results_reaching(monitor.id, 3)
        before = await world.state(monitor.id)
        earlier = await world.results(monitor.id)

        # Restarted five minutes later: about 300 slots were missed while it was stopped.
        later = ShiftedClock(timedelta(minutes=5))
        restarted_at = later.now()
        async with running(world.engine(later)):
            await world.results_reaching(monitor.id, len(earlier) + 3)

    after = await world.state(monitor.id)
    new = (await world.results(monitor.id))[len(earlier) :]
    slots = [r.scheduled_at for r in new]
    assert before.next_run_at is not None
    assert all(slot >= restarted_at for slot in slots)  # nothing replayed
    assert all(whole_intervals(slot, before.next_run_at) for slot in slots)  # same phase
    assert all(whole_intervals(b, a) for a, b in pairwise(slots))

    assert after.status == "up"
    assert after.consecutive_successes == before.consecutive_successes + len(new)
    assert after.latency_count == before.latency_count + len(new)
    assert after.latency_sum_ms == pytest.approx(
        before.latency_sum_ms + sum(r.latency_ms or 0 for r in new)
    )
    assert after.latency_min_ms == min(r.latency_ms or 0 for r in [*earlier, *new])
    assert after.latency_max_ms == max(r.latency_ms or 0 for r in [*earlier, *new])
    assert after.status_changed_at == before.status_changed_at
    assert len(await world.state_changes(monitor.id)) == 1  # no second pending → up
    await assert_rollups_count_every_result(world, monitor.id, [*earlier, *new])


async def assert_rollups_count_every_result(
    world: World, monitor_id: int, results: list[CheckResult]
) -> None:
    """Each minute, hour and day rollup counts exactly the results in its bucket, also
    across a restart (the new writer adds to the rows the old one left)."""
    counted: dict[tuple[int, object], int] = {}
    for result in results:
        for resolution in (60, 3600, 86400):
            stamp = result.checked_at.timestamp()
            key = (resolution, stamp - stamp % resolution)
            counted[key] = counted.get(key, 0) + 1
    stored = {
        (row.resolution, row.bucket_start.timestamp()): row.checks
        for row in await world.rollups(monitor_id)
    }
    assert stored == counted
