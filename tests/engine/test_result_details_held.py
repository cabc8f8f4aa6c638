"""Details through a database outage: the spool keeps them, and a spool an older version
wrote (results without details) is still read and written back."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from tests.support.engine import World, eventually, records_for
from upwatch.engine.ingest.backlog import Bounds
from upwatch.engine.ingest.evaluate import CheckRecord
from upwatch.engine.ingest.record_codec import decode, encode
from upwatch.engine.ingest.writer import ResultWriter

START = datetime(2026, 5, 4, 10, 59, 30, tzinfo=UTC)
SEEN = {"address": "127.0.0.1", "reply": "+PONG"}


async def two_checks(world: World) -> list[CheckRecord]:
    monitor = await world.monitor("http://127.0.0.1:9/held")
    checks = [(True, 5.0, START), (True, 6.0, START + timedelta(seconds=20))]
    return await records_for(world, monitor, checks)


def with_details(record: CheckRecord) -> CheckRecord:
    return replace(record, result_row={**record.result_row, "details": SEEN})


async def test_a_held_record_keeps_its_details_on_disk(world: World) -> None:
    [record, _] = await two_checks(world)

    read_back = decode(encode(with_details(record)))

    assert read_back.result_row["details"] == SEEN
    assert read_back == with_details(record)


async def test_a_spool_an_older_version_wrote_is_written_back_without_details(
    world: World, tmp_path: Path
) -> None:
    records = await two_checks(world)
    spool = tmp_path / "spool" / "results.jsonl"
    spool.parent.mkdir()
    with spool.open("wb") as file:
        for record in records:  # as written before results kept details: no such key
            value = orjson.loads(encode(record))
            del value["result_row"]["details"]
            file.write(orjson.dumps(value) + b"\n")

    writer = ResultWriter(world.database, world.bus, Bounds(100, spool, 10**6))
    writer.start()
    try:
        await eventually(lambda: _true(writer.caught_up.is_set()))
    finally:
        await writer.stop()

    results = await world.results(records[0].monitor_id)
    assert [(r.checked_at, r.latency_ms, r.details) for r in results] == [
        (START, 5.0, None),
        (START + timedelta(seconds=20), 6.0, None),
    ]
    assert not spool.exists()  # all written: gone


async def _true(value: bool) -> bool:
    return value
