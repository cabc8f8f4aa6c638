"""The result writer: batches of results, states, rollups and state changes in one go."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from tests.support.engine import World, records_for
from upwatch.engine.ingest import writer as writer_module
from upwatch.engine.ingest.writer import FLUSH_SECONDS, ResultWriter
from upwatch.events.bus import Filter
from upwatch.models import MonitorState

START = datetime(2026, 5, 4, 10, 59, 30, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


async def test_one_flush_stores_a_whole_batch_and_leaves_each_monitor_at_its_latest_state(
    world: World,
) -> None:
    first = await world.monitor("http://127.0.0.1:9/first")
    second = await world.monitor("http://127.0.0.1:9/second")
    ups = await records_for(world, first, [(True, 10.0 + n, at(n * 20)) for n in range(4)])
    downs = await records_for(world, second, [(False, None, at(n * 20)) for n in range(3)])
    events = world.bus.subscribe(Filter(organization_id=world.organization_id))
    writer = ResultWriter(world.database, world.bus)

    batch = [*reversed(ups), *downs]  # the order they arrive in does not matter
    done = [writer.submit(record) for record in batch]
    await writer.flush()

    assert all(future.done() and future.exception() is None for future in done)
    assert [r.latency_ms for r in await world.results(first.id)] == [10.0, 11.0, 12.0, 13.0]
    assert len(await world.results(second.id)) == 3
    up, down = await world.state(first.id), await world.state(second.id)
    assert (up.status, up.last_check_at, up.latency_count) == ("up", at(60), 4)
    assert (down.status, down.last_check_at, down.consecutive_failures) == ("down", at(40), 3)
    assert [(c.to_status, c.created_at) for c in await world.state_changes(second.id)] == [
        ("down", at(20))
    ]
    minutes = sorted(
        (row.bucket_start, row.checks)
        for row in await world.rollups(first.id)
        if row.resolution == 60
    )
    assert minutes == [(at(-30), 2), (at(30), 2)]  # 10:59 and 11:00
    published = []
    while (event := await events.next(0.05)) is not None:
        published.append(event)
    monitor_events = [event for event in published if event.type.startswith("monitor.")]
    assert len(monitor_events) == len(batch) + 2  # every check, and the two status changes
    # The change to down opened an incident in the same transaction, announced after it.
    assert [
        (e.type, e.data["monitor_id"]) for e in published if e.type.startswith("incident.")
    ] == [("incident.opened", str(second.public_id))]


async def test_a_result_of_a_monitor_deleted_meanwhile_does_not_lose_the_rest_of_its_batch(
    world: World,
) -> None:
    deleted = await world.monitor("http://127.0.0.1:9/deleted")
    kept = await world.monitor("http://127.0.0.1:9/kept")
    late = await records_for(world, deleted, [(True, 5.0, at(0))])
    fresh = await records_for(world, kept, [(True, 7.0, at(1))])
    await world.delete_row(deleted)  # while its last check was on its way to the writer
    writer = ResultWriter(world.database, world.bus)

    done = writer.submit(fresh[0])
    writer.submit(late[0])
    await writer.flush()

    assert done.exception() is None
    assert [r.latency_ms for r in await world.results(kept.id)] == [7.0]
    assert (await world.state(kept.id)).status == "up"


async def test_stopping_the_writer_while_a_batch_is_being_written_loses_none_of_it(
    world: World,
) -> None:
    monitor = await world.monitor("http://127.0.0.1:9/stopping")
    records = await records_for(world, monitor, [(True, 1.0 + n, at(n)) for n in range(5)])
    writer = ResultWriter(world.database, world.bus)
    writer.start()
    # Another transaction holds the monitor's state row (on SQLite: the write lock), so the
    # writer's transaction for this batch waits in the middle of its work.
    async with world.database.write_session() as blocker:
        await blocker.execute(
            update(MonitorState)
            .where(MonitorState.monitor_id == monitor.id)
            .values(status=MonitorState.status)
        )
        done = [writer.submit(record) for record in records]
        await asyncio.sleep(2 * FLUSH_SECONDS)  # the writer's tick has taken the batch
        stopping = asyncio.create_task(writer.stop())  # as the engine does at shutdown
        await asyncio.sleep(FLUSH_SECONDS)
        assert not stopping.done()  # it waits for the batch in flight, which cannot commit
        await blocker.rollback()
    await stopping

    assert all(future.done() and future.exception() is None for future in done)
    assert [r.latency_ms for r in await world.results(monitor.id)] == [1.0, 2.0, 3.0, 4.0, 5.0]


async def test_new_checks_wait_while_the_writer_is_far_behind_and_go_on_once_it_catches_up(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer_module, "MAX_PENDING", 4)  # 8,000 in production: same logic
    monitor = await world.monitor("http://127.0.0.1:9/behind")
    records = await records_for(world, monitor, [(True, 1.0 + n, at(n)) for n in range(4)])
    writer = ResultWriter(world.database, world.bus)
    await asyncio.wait_for(writer.room(), 1)  # not behind: room at once

    for record in records:
        writer.submit(record)
    waiting = asyncio.create_task(writer.room())
    await asyncio.sleep(0)
    assert not waiting.done()  # four results unwritten: the next check is held back

    await writer.flush()
    await asyncio.wait_for(waiting, 1)
    assert len(await world.results(monitor.id)) == 4
