"""One batch writer for the engine's hot write paths (check results, heartbeat pings).

Callers submit items and get a future; one loop writes whatever waits as batches of at most
`max_batch`, one transaction each, in submission order. Two paces:

- `flush_seconds > 0` (results): the loop wakes every interval, or at once when a full batch
  waits. Checks do not wait for the write, so a short delay buys large batches.
- `flush_seconds == 0` (pings, group commit): every submit wakes the loop; whatever arrived
  while the previous batch was written is the next batch. Each caller waits for its commit.

And two ways of living through an unreachable database:

- with `hold` (results): the batch and all that waits are handed to `hold` (which keeps them,
  e.g. in a backlog), their callers are answered with the outage error at once, and the loop
  tries again after a backoff (0.5 s doubling to 5 s); `before` runs first at every flush
  (writing what was held, oldest first).
- without (pings): the callers of the failing batch get its error (the HTTP edge answers
  503 and the client retries); the next batch tries again.

`write` raises `Unavailable` for an outage (with how many of the batch it did write);
any other exception is a bug or bad data: the batch's callers get it, the loop goes on.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar, cast

from upwatch.core.waiting import wait_for_event

T = TypeVar("T")
R = TypeVar("R")


class Unavailable(Exception):  # noqa: N818 - a condition, as `db.outages` names it
    """The database could not be reached; of the batch, the first `written` items were
    written (their values are `values`)."""

    def __init__(self, error: BaseException, written: int = 0, values: Sequence[object] = ()):
        super().__init__(repr(error))
        self.error = error
        self.written = written
        self.values = list(values)


@dataclass(frozen=True, slots=True)
class Pace:
    max_batch: int
    flush_seconds: float = 0.0  # 0: group commit, write as soon as something waits
    max_pending: int | None = None  # beyond it `room()` waits until half is written
    retry_first_seconds: float = 0.5
    retry_max_seconds: float = 5.0


class Sink(Generic[T, R]):
    """What a writer does with its batches. `write` is required; the rest are optional.
    `holds`: whether an outage hands the items to `hold` (results) or refuses them (pings)."""

    holds: bool = False

    async def write(self, items: list[T]) -> list[R]:
        """One transaction; a value per item (what its caller's future gets)."""
        raise NotImplementedError

    async def written(self) -> None:
        """After the last batch's commit, once its callers are answered (publish events,
        re-arm timers)."""

    async def before(self) -> None:
        """At each flush, first (write what was held)."""

    async def hold(self, items: list[T]) -> None:
        """Keep items the database could not take now (only when `holds`)."""

    def refused(self, error: BaseException, count: int) -> None:
        """A batch was not written (its callers got `error`). Called in the except block."""

    def unavailable(self, error: BaseException, retry_in: float) -> None:
        """An outage held everything (only when `holds`); the next try is in `retry_in`."""

    def back(self) -> None:
        """Written again after an outage."""

    def crashed(self) -> None:
        """A flush failed outside any batch (a bug). Called in the except block."""


class BatchWriter(Generic[T, R]):
    def __init__(self, name: str, pace: Pace, sink: Sink[T, R]) -> None:
        self._name = name
        self._pace = pace
        self._sink = sink
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._retry_in = pace.retry_first_seconds
        self._retry_at: float | None = None  # time.monotonic() of the next try, in an outage

    @property
    def pending(self) -> int:
        return len(self._pending)

    @property
    def in_outage(self) -> bool:
        """Since a batch found the database unreachable, until a flush succeeds."""
        return self._retry_at is not None

    def submit(self, item: T) -> asyncio.Future[R]:
        done: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, done))
        if not self._pace.flush_seconds or len(self._pending) >= self._pace.max_batch:
            self._wake.set()
        if self._pace.max_pending is not None and len(self._pending) >= self._pace.max_pending:
            self._room.clear()
        return done

    async def room(self) -> None:
        """Return once the writer is not far behind."""
        await self._room.wait()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        """Let the batch being written commit, then write what is left. (Cancelling the
        loop mid-write would roll that batch back after it left `_pending`: lost items.)"""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
        await self.flush()

    async def hold_pending(self, error: BaseException | None = None) -> None:
        """Hand what waits to `hold`: its callers stop waiting (with the outage error), the
        items are written later. (Results only: pings are never held.)"""
        if not self._pending or not self._sink.holds:
            return
        batch, self._pending = self._pending, []
        self._room.set()
        error = error or ConnectionError("the database is unreachable; held and written later")
        _settle(batch, error=error)
        await self._sink.hold([item for item, _ in batch])

    async def _run(self) -> None:
        while not self._stopping:
            nap = self._nap()
            if nap is None:
                await self._wake.wait()  # group commit: a plain wait costs least per batch
            else:
                await wait_for_event(self._wake, nap)
            self._wake.clear()
            if self._retry_at is not None and time.monotonic() < self._retry_at:
                await self.hold_pending()  # not yet time to try again: keep memory bounded
                continue
            try:
                await self.flush()
            except Exception:  # a bug, not an outage: the loop must go on
                self._sink.crashed()

    def _nap(self) -> float | None:
        if self._retry_at is not None:
            return max(0.0, self._retry_at - time.monotonic())
        return self._pace.flush_seconds or None

    async def flush(self) -> None:
        """Write what waits (after `before`). An outage with `hold`: hold everything, try
        again after the backoff. Any other failure: the batch's callers get it."""
        try:
            await self._sink.before()
            while self._pending:
                await self._write_next()
        except Unavailable as outage:
            await self.hold_pending(outage.error)
            self._retry_at = time.monotonic() + self._retry_in
            self._sink.unavailable(outage.error, self._retry_in)
            self._retry_in = min(self._retry_in * 2, self._pace.retry_max_seconds)
            return
        if self._retry_at is not None:
            self._retry_at, self._retry_in = None, self._pace.retry_first_seconds
            self._sink.back()

    async def _write_next(self) -> None:
        size = self._pace.max_batch
        batch, self._pending = self._pending[:size], self._pending[size:]
        if self._pace.max_pending is not None and len(self._pending) < self._pace.max_pending // 2:
            self._room.set()
        items = [item for item, _ in batch]
        try:
            values = await self._sink.write(items)
        except Unavailable as outage:
            if not self._sink.holds:
                self._refused(batch, outage.error)
                return
            # The written part is answered (with its values, or None for a writer whose
            # items have none); the rest is first in line when the database is back.
            _settle(batch[: outage.written], values=cast(list[R], outage.values) or None)
            self._pending[:0] = batch[outage.written :]
            raise
        except Exception as exc:
            self._refused(batch, exc)
            return
        _settle(batch, values=values)
        await self._sink.written()

    def _refused(self, batch: list[tuple[T, asyncio.Future[R]]], error: BaseException) -> None:
        """A batch that will not be written: its callers get the error (the HTTP edge
        answers 503); it is logged (as an outage, or with its traceback)."""
        _settle(batch, error=error)
        self._sink.refused(error, len(batch))


def _settle(
    batch: Sequence[tuple[object, asyncio.Future[R]]],
    *,
    values: Sequence[R] | None = None,
    error: BaseException | None = None,
) -> None:
    for index, (_, done) in enumerate(batch):
        if done.done():
            continue
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(values[index] if values is not None else None)  # type: ignore[arg-type]
