"""Bounded waits: a result in time is returned, a late one is cancelled, and a cancellation of
the waiter always reaches it (the Python 3.11 `asyncio.wait_for` could lose it, gh-86296)."""

from __future__ import annotations

import asyncio

import pytest

from upwatch.core.waiting import cancel_and_wait, result_within, wait_for_event


async def test_an_event_set_in_time_is_reported_and_one_never_set_times_out() -> None:
    event = asyncio.Event()
    asyncio.get_running_loop().call_soon(event.set)
    assert await wait_for_event(event, 5)
    assert not await wait_for_event(asyncio.Event(), 0.01)


async def test_a_result_in_time_is_returned_and_late_work_is_cancelled() -> None:
    queue: asyncio.Queue[str] = asyncio.Queue()
    queue.put_nowait("ping")
    assert await result_within(queue.get(), 5) == "ping"

    assert await result_within(queue.get(), 0.01) is None
    queue.put_nowait("later")
    assert queue.qsize() == 1  # the timed-out get was cancelled, so it took nothing


async def test_cancelling_the_waiter_as_the_event_fires_still_cancels_it() -> None:
    """The gh-86296 race: the event is set and the waiting task cancelled in the same loop
    iteration. The cancellation must win, or a stopping worker carries on forever."""
    event = asyncio.Event()
    waiter = asyncio.ensure_future(wait_for_event(event, 60))
    await asyncio.sleep(0)  # the waiter is now parked on the event
    event.set()
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter


async def test_cancel_and_wait_lets_the_task_unwind_and_raises_a_failure_in_unwinding() -> None:
    unwound = asyncio.Event()

    async def tidy() -> None:
        try:
            await asyncio.sleep(60)
        finally:
            unwound.set()

    task = asyncio.ensure_future(tidy())
    await asyncio.sleep(0)
    await cancel_and_wait(task)
    assert unwound.is_set()
    assert task.cancelled()

    async def broken() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            raise RuntimeError("cleanup failed") from None

    task = asyncio.ensure_future(broken())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="cleanup failed"):
        await cancel_and_wait(task)
