"""The result writer while its PostgreSQL is stopped: nothing made meanwhile is lost. Results
and state changes are held (memory, then the spool on disk), written in order once the
database is back, and kept across a shutdown for the next start."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.engine import World, eventually, records_for
from tests.support.private_postgres import PrivatePostgres
from upwatch.engine.ingest.backlog import Backlog, Bounds
from upwatch.engine.ingest.evaluate import CheckRecord
from upwatch.engine.ingest.spool import Spool
from upwatch.engine.ingest.writer import ResultWriter
from upwatch.models import Monitor

START = datetime(2026, 5, 4, 10, 59, 30, tzinfo=UTC)
# Up, then down (a state change), still down, then up again (another).
CHECKS = [(True, 5.0, 0), (False, None, 20), (False, None, 40), (True, 6.0, 60)]


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


@pytest.fixture
def database_url(private_postgres: PrivatePostgres) -> str:
    """These tests stop the database: their own server, never the shared one."""
    return private_postgres.migrated()


def bounds(tmp_path: Path, memory_records: int = 2, spool_max_bytes: int = 10**6) -> Bounds:
    return Bounds(memory_records, tmp_path / "spool" / "results.jsonl", spool_max_bytes)


async def flapping(world: World) -> tuple[Monitor, list[CheckRecord]]:
    monitor = await world.monitor(
        "http://127.0.0.1:9/outage", failure_threshold=1, recovery_threshold=1
    )
    return monitor, await records_for(world, monitor, [(ok, ms, at(s)) for ok, ms, s in CHECKS])


async def history(world: World, monitor: Monitor) -> tuple[list[datetime], list[tuple[str, str]]]:
    results = [result.checked_at for result in await world.results(monitor.id)]
    changes = [(c.from_status, c.to_status) for c in await world.state_changes(monitor.id)]
    return results, changes


async def test_state_changes_made_while_the_database_is_unreachable_are_written_in_order_when_it_returns(  # noqa: E501
    world: World, private_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    monitor, records = await flapping(world)
    writer = ResultWriter(world.database, world.bus, bounds(tmp_path))
    writer.start()
    try:
        await writer.submit(records[0])
        private_postgres.stop()
        waiting = [writer.submit(record) for record in records[1:]]
        await eventually(lambda: _true(writer.held == 3))
        # Whoever waited (an on-demand run) is told at once; the records are kept.
        assert all(future.exception() is not None for future in waiting)
        assert (tmp_path / "spool" / "results.jsonl").exists()  # past the memory bound
        private_postgres.start()
        await eventually(lambda: _true(writer.held == 0), within=30)
    finally:
        await writer.stop()

    results, changes = await history(world, monitor)
    assert results == [at(s) for *_, s in CHECKS]
    assert changes == [("pending", "up"), ("up", "down"), ("down", "up")]
    assert (await world.state(monitor.id)).status == "up"


async def test_what_a_shutdown_during_an_outage_holds_is_written_first_at_the_next_start(
    world: World, private_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    monitor, records = await flapping(world)
    writer = ResultWriter(world.database, world.bus, bounds(tmp_path, memory_records=100))
    writer.start()
    private_postgres.stop()
    waiting = [writer.submit(record) for record in records]
    await writer.stop()
    assert all(future.exception() is not None for future in waiting)
    assert (tmp_path / "spool" / "results.jsonl").exists()

    private_postgres.start()
    after_restart = ResultWriter(world.database, world.bus, bounds(tmp_path, memory_records=100))
    after_restart.start()
    try:
        await eventually(lambda: _true(after_restart.caught_up.is_set()), within=30)
    finally:
        await after_restart.stop()

    results, changes = await history(world, monitor)
    assert results == [at(s) for *_, s in CHECKS]
    assert changes == [("pending", "up"), ("up", "down"), ("down", "up")]
    assert not (tmp_path / "spool" / "results.jsonl").exists()  # all written: gone


async def test_a_spool_written_back_after_a_crash_writes_nothing_twice(
    world: World, tmp_path: Path
) -> None:
    monitor, records = await flapping(world)
    writer = ResultWriter(world.database, world.bus)
    writer.start()
    await writer.submit(records[0])
    await writer.submit(records[1])
    await writer.stop()
    # Killed after committing those two, before the spool noted it: all four still there.
    spool = Spool.open(bounds(tmp_path).spool_path or tmp_path, max_bytes=10**6)
    assert spool is not None
    spool.append(records)
    spool.close()

    after_crash = ResultWriter(world.database, world.bus, bounds(tmp_path))
    after_crash.start()
    try:
        await eventually(lambda: _true(after_crash.caught_up.is_set()))
    finally:
        await after_crash.stop()

    results, changes = await history(world, monitor)
    assert results == [at(s) for *_, s in CHECKS]
    assert changes == [("pending", "up"), ("up", "down"), ("down", "up")]


async def test_a_full_spool_gives_up_plain_results_but_keeps_every_state_change(
    world: World, tmp_path: Path
) -> None:
    _, records = await flapping(world)
    spool = Spool.open(tmp_path / "results.jsonl", max_bytes=1)
    assert spool is not None
    try:
        spilled = spool.append(records)
        kept = spool.peek(10)
    finally:
        spool.close()

    assert (spilled.kept, spilled.given_up) == (3, 1)  # the plain "still down" result
    assert [record.checked_at for record in kept] == [at(0), at(20), at(60)]
    assert kept == [records[0], records[1], records[3]]  # read back exactly as made


async def test_without_a_spool_memory_past_its_bound_gives_up_plain_results_only(
    world: World,
) -> None:
    _, records = await flapping(world)
    backlog = Backlog(None, memory_limit=2)  # another process holds the spool

    await backlog.add(records)

    assert (len(backlog), backlog.given_up) == (3, 1)
    assert backlog.peek(10) == [records[0], records[1], records[3]]


async def _true(value: bool) -> bool:
    return value
