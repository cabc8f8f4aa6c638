"""Bounded waits that never swallow a cancellation.

On Python 3.11, `asyncio.wait_for` loses a cancellation that arrives in the same loop
iteration as the awaited result (CPython gh-86296): the task that should stop carries on. A
worker told to stop while its scheduler was waking up did exactly that and hung. These helpers
wait with `asyncio.wait`, which only ever returns or raises the caller's own cancellation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


async def wait_for_event(event: asyncio.Event, seconds: float) -> bool:
    """Wait until `event` is set or `seconds` have passed; True if it was set."""
    if event.is_set():
        return True
    return await result_within(event.wait(), seconds) is not None


async def result_within(work: Coroutine[Any, Any, T], seconds: float) -> T | None:
    """The result of `work`, or None (with `work` cancelled) if it takes over `seconds`."""
    task = asyncio.ensure_future(work)
    try:
        await asyncio.wait({task}, timeout=seconds)
    finally:
        if not task.done():
            await cancel_and_wait(task)
    if task.cancelled():
        return None
    return task.result()


async def cancel_and_wait(task: asyncio.Future[Any]) -> None:
    """Cancel `task` and wait until it has finished unwinding, without raising its
    cancellation in the caller (whose own cancellation still propagates)."""
    task.cancel()
    await asyncio.wait({task})
    error = None if task.cancelled() else task.exception()
    if error is not None:  # it failed while unwinding: surface that instead of losing it
        raise error
