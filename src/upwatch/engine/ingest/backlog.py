"""What the result writer holds while the database is unreachable: check records in the order
they were made, the newest in memory (up to `memory_limit`), the older ones spilled to the
spool on disk. Read from the front (spool first, then memory), dropped once written.

Only the writer's task touches it (also while a spill runs in a thread), one batch at a
time: `peek`, write, then `done`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from upwatch.engine.ingest.evaluate import CheckRecord
from upwatch.engine.ingest.spool import Spool, is_essential
from upwatch.logs import get_logger

log = get_logger("upwatch.writer")


@dataclass(frozen=True, slots=True)
class Bounds:
    """How much the writer may hold: records in memory, then a spool file (None: memory
    only, for tests and tools) of at most `spool_max_bytes`."""

    memory_records: int
    spool_path: Path | None = None
    spool_max_bytes: int = 0

    def open(self) -> Backlog:
        """The backlog, with what a previous run left in the spool (written first)."""
        spool = None
        if self.spool_path is not None:
            spool = Spool.open(self.spool_path, self.spool_max_bytes)
        return Backlog(spool, self.memory_records)


class Backlog:
    def __init__(self, spool: Spool | None, memory_limit: int) -> None:
        self._memory: deque[CheckRecord] = deque()
        self._spool = spool
        self._memory_limit = memory_limit
        self._peeked_spool = False
        self.given_up = 0  # plain results dropped because the spool was full

    def __len__(self) -> int:
        return len(self._memory) + self.spooled

    @property
    def spooled(self) -> int:
        return 0 if self._spool is None else self._spool.count

    async def add(self, records: Iterable[CheckRecord]) -> None:
        """Newer records, after all held ones; the oldest in memory go to disk when memory
        holds more than its limit (half of it, so spilling is not done record by record)."""
        self._memory.extend(records)
        if len(self._memory) <= self._memory_limit:
            return
        if self._spool is not None:
            await self._spill(len(self._memory) - self._memory_limit // 2)
        else:  # no spool (another process holds it): memory is all there is
            self._give_up_plain(len(self._memory) - self._memory_limit // 2)

    async def spill_all(self) -> None:
        """Everything in memory to disk (a shutdown while the database is away)."""
        if self._spool is not None and self._memory:
            await self._spill(len(self._memory))

    async def _spill(self, count: int) -> None:
        assert self._spool is not None
        records = [self._memory.popleft() for _ in range(count)]
        # In a thread: encoding and fsyncing 10,000 records takes a few hundred ms, which
        # the checks' event loop must not wait for.
        spilled = await asyncio.to_thread(self._spool.append, records)
        log.warning(
            "writer.spilled",
            records=spilled.kept,
            spooled=self._spool.count,
            path=str(self._spool.path),
        )
        self._report_given_up(spilled.given_up, "spool full")

    def _give_up_plain(self, count: int) -> None:
        """Drop up to `count` of the oldest plain results; state changes and alerts stay."""
        kept: deque[CheckRecord] = deque()
        dropped = 0
        for record in self._memory:
            if dropped < count and not is_essential(record):
                dropped += 1
            else:
                kept.append(record)
        self._memory = kept
        self._report_given_up(dropped, "memory full and no spool")

    def _report_given_up(self, count: int, reason: str) -> None:
        if not count:
            return
        self.given_up += count
        # The one place results are lost: the outage outlasted the bounds.
        log.error("writer.results_given_up", results=count, given_up_total=self.given_up,
                  reason=reason + "; state changes and alerts are still kept")  # fmt: skip

    def peek(self, limit: int) -> list[CheckRecord]:
        """The oldest records, at most `limit`, left in place until `done()`."""
        self._peeked_spool = self.spooled > 0
        if self._spool is not None and self._peeked_spool:
            return self._spool.peek(limit)
        return list(islice(self._memory, limit))

    def done(self, count: int) -> None:
        """The first `count` records of the last `peek()` are written."""
        if self._spool is not None and self._peeked_spool:
            self._spool.advance(count)
            return
        for _ in range(count):
            self._memory.popleft()

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()
