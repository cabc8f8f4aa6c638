"""Worker shards: each engine of a layout schedules its own monitors and no other's; a worker
whose change listener lost its connection reloads what changed meanwhile."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.support.engine import World, eventually
from upwatch.core.clock import SystemClock
from upwatch.engine.changes import ChangeListener, chunks, parse
from upwatch.engine.checks.shards import Shard
from upwatch.engine.engine import Engine

UNREACHABLE = "http://127.0.0.1:9/"  # nothing here is ever checked: no engine is started


def test_a_shard_is_parsed_from_index_slash_count_and_bad_ones_are_refused() -> None:
    assert Shard.parse("1/4") == Shard(1, 4)
    for bad in ("4/4", "-1/2", "1", "a/b", "0/0"):
        with pytest.raises(ValueError, match="shard"):
            Shard.parse(bad)


def test_the_shards_of_a_layout_own_every_id_exactly_once() -> None:
    layout = [Shard(index, 3) for index in range(3)]
    for monitor_id in range(1, 100):
        assert sum(shard.owns(monitor_id) for shard in layout) == 1


def test_notified_ids_survive_the_payload_limit_in_chunks() -> None:
    ids = list(range(10**17, 10**17 + 1000))
    payloads = list(chunks(ids))
    assert all(len(payload) < 8000 for payload in payloads)
    assert [monitor_id for payload in payloads for monitor_id in parse(payload)] == ids


async def test_sharded_engines_split_the_monitors_and_ignore_changes_to_others(
    world: World,
) -> None:
    monitors = [await world.monitor(UNREACHABLE, name=f"m{index}") for index in range(6)]
    ids = {monitor.id for monitor in monitors}
    engines = [
        Engine(
            world.database,
            world.settings,
            world.store,
            world.bus,
            SystemClock(),
            shard=Shard(index, 2),
        )
        for index in range(2)
    ]
    for engine in engines:
        await engine.resync()
    first, second = (engine.scheduler.monitor_ids() for engine in engines)
    assert first | second == ids
    assert not first & second
    assert first
    assert second

    await engines[0].refresh(ids)  # as when the API announces every one of them
    assert engines[0].scheduler.monitor_ids() == first


async def test_a_listener_that_lost_its_connection_reloads_what_changed_meanwhile(
    world: World,
) -> None:
    if world.database.engine.dialect.name != "postgresql":
        pytest.skip("change notifications are PostgreSQL's (LISTEN/NOTIFY); SQLite has none")
    kept = await world.monitor(UNREACHABLE, name="kept")
    removed = await world.monitor(UNREACHABLE, name="removed")
    engine = world.engine()
    await engine.resync()
    listener = ChangeListener(world.database.url, engine.refresh, engine.resync)
    listener.start()

    async def listening() -> bool:
        return listener.listening.is_set()

    try:
        await eventually(listening)
        async with world.database.session() as session:
            await session.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE query LIKE 'LISTEN %' AND datname = current_database()"
                )
            )
        await world.remove(removed)  # unannounced: nobody is listening now
        added = await world.monitor(UNREACHABLE, name="added")

        async def reloaded() -> bool:
            return engine.scheduler.monitor_ids() == {kept.id, added.id}

        await eventually(reloaded)
    finally:
        await listener.stop()
