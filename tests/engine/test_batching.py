"""The engine's one batch writer, with a sink that keeps its batches in a list: order,
group commit, a refused batch, and an outage that hands everything to `hold`."""

from __future__ import annotations

import asyncio

import pytest

from upwatch.engine.ingest.batching import BatchWriter, Pace, Sink, Unavailable


class Ledger(Sink[str, int]):
    """Writes items as their lengths; refuses "bad"; `down` makes the database unreachable."""

    def __init__(self, *, holds: bool = False) -> None:
        self.holds = holds
        self.batches: list[list[str]] = []
        self.held: list[str] = []
        self.down = False
        self.gate = asyncio.Event()
        self.gate.set()

    async def write(self, items: list[str]) -> list[int]:
        await self.gate.wait()
        if self.down:
            raise Unavailable(ConnectionError("database away"))
        if "bad" in items:
            raise ValueError("refused for good")
        self.batches.append(items)
        return [len(item) for item in items]

    async def hold(self, items: list[str]) -> None:
        self.held += items


async def test_each_caller_gets_its_own_value_in_batches_of_at_most_the_batch_size() -> None:
    ledger = Ledger()
    writer = BatchWriter("test", Pace(max_batch=2), ledger)
    done = [writer.submit(item) for item in ("a", "bb", "ccc")]

    await writer.flush()

    assert [future.result() for future in done] == [1, 2, 3]
    assert ledger.batches == [["a", "bb"], ["ccc"]]


async def test_what_arrives_during_a_write_is_the_next_batch_in_order() -> None:
    ledger = Ledger()
    writer = BatchWriter("test", Pace(max_batch=100), ledger)
    writer.start()
    try:
        ledger.gate.clear()
        first = writer.submit("first")
        await asyncio.sleep(0)  # the loop takes it and waits in the write
        later = [writer.submit(item) for item in ("second", "third")]
        ledger.gate.set()
        await asyncio.gather(first, *later)
    finally:
        await writer.stop()

    assert ledger.batches == [["first"], ["second", "third"]]


async def test_a_refused_batch_answers_its_callers_with_the_error_and_the_next_is_written() -> None:
    ledger = Ledger()
    writer = BatchWriter("test", Pace(max_batch=2), ledger)
    refused = [writer.submit(item) for item in ("ok", "bad")]
    written = writer.submit("next")

    await writer.flush()

    for future in refused:
        with pytest.raises(ValueError, match="refused for good"):
            future.result()
    assert written.result() == 4
    assert ledger.batches == [["next"]]


async def test_an_outage_refuses_the_batch_of_a_writer_that_does_not_hold() -> None:
    ledger = Ledger()
    ledger.down = True
    writer = BatchWriter("test", Pace(max_batch=10), ledger)
    waiting = writer.submit("ping")

    await writer.flush()

    with pytest.raises(ConnectionError):
        waiting.result()
    assert not writer.in_outage  # nothing held, nothing to retry: the client retries


async def test_an_outage_hands_everything_to_hold_in_order_until_a_flush_succeeds() -> None:
    ledger = Ledger(holds=True)
    ledger.down = True
    writer = BatchWriter("test", Pace(max_batch=2, flush_seconds=0.25), ledger)
    waiting = [writer.submit(item) for item in ("a", "b", "c")]

    await writer.flush()

    assert ledger.held == ["a", "b", "c"]
    assert all(isinstance(future.exception(), ConnectionError) for future in waiting)
    assert writer.in_outage
    assert writer.pending == 0
    ledger.down = False
    writer.submit("d")
    await writer.flush()
    assert not writer.in_outage
    assert ledger.batches == [["d"]]
