"""The result writer's spool: check records the database could not take, kept in a local file
(JSON lines, oldest first) while an outage lasts longer than memory should hold, and across a
restart. Records are read from the front and the file is deleted once all are written.

Only this process writes its spool: the file is locked (`flock`) while open, and named after
the engine's shard, so workers sharing a data directory keep separate spools. A spool that
another process holds is not used (the writer then keeps records in memory only).

Bounded by size: past `max_bytes`, records that only carry a plain result are given up (and
counted); those with a state change or an alert are always kept, since losing one would make
history and alerts wrong, and there are few of them.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from upwatch.engine.ingest.evaluate import CheckRecord
from upwatch.engine.ingest.record_codec import decode, encode
from upwatch.logs import get_logger

log = get_logger("upwatch.writer")


@dataclass(frozen=True, slots=True)
class Spilled:
    kept: int
    given_up: int


class Spool:
    def __init__(self, path: Path, max_bytes: int, lock: IO[bytes]) -> None:
        self.path = path
        self._max_bytes = max_bytes
        self._lock = lock  # held while this process owns the spool
        self._offset_path = path.with_name(path.name + ".offset")
        self._offset = _read_offset(self._offset_path)
        _drop_torn_tail(path)
        self._size = path.stat().st_size if path.exists() else 0
        self.count = _count_lines(path, self._offset)
        self._peeked: list[int] = []  # the byte length of each record of the last peek

    @classmethod
    def open(cls, path: Path, max_bytes: int) -> Spool | None:
        """The spool at `path`, or None if another process holds it."""
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = path.with_name(path.name + ".lock").open("ab")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            log.warning("writer.spool_in_use", path=str(path))
            return None
        return cls(path, max_bytes, lock)

    def append(self, records: Sequence[CheckRecord]) -> Spilled:
        """Add records at the end (durably: fsync); plain results past the size bound are
        given up."""
        lines, given_up = [], 0
        size = self._size
        for record in records:
            line = encode(record)
            if size + len(line) > self._max_bytes and not is_essential(record):
                given_up += 1
                continue
            lines.append(line)
            size += len(line)
        if lines:
            with self.path.open("ab") as file:
                file.write(b"".join(lines))
                file.flush()
                os.fsync(file.fileno())
        self._size, self.count = size, self.count + len(lines)
        return Spilled(len(lines), given_up)

    def peek(self, limit: int) -> list[CheckRecord]:
        """The oldest records (at most `limit`), left in place until `advance()`."""
        records, self._peeked = [], []
        with self.path.open("rb") as file:
            file.seek(self._offset)
            for line in file:
                self._peeked.append(len(line))
                records.append(decode(line))
                if len(records) >= limit:
                    break
        return records

    def advance(self, count: int) -> None:
        """The first `count` records of the last `peek()` are written: past them for good."""
        self._offset += sum(self._peeked[:count])
        self.count -= count
        self._peeked = []
        if count == 0:
            return
        if self.count <= 0:  # all written: start afresh
            self.path.unlink(missing_ok=True)
            self._offset_path.unlink(missing_ok=True)
            self._offset = self._size = self.count = 0
            return
        temporary = self._offset_path.with_name(self._offset_path.name + ".new")
        temporary.write_text(str(self._offset))
        temporary.replace(self._offset_path)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            fcntl.flock(self._lock, fcntl.LOCK_UN)
        self._lock.close()


def is_essential(record: CheckRecord) -> bool:
    """Whether losing the record would make history or alerts wrong (not only thinner)."""
    return record.state_change is not None or bool(record.alerts)


def _read_offset(path: Path) -> int:
    try:
        return int(path.read_text())
    except (OSError, ValueError):
        return 0


def _drop_torn_tail(path: Path) -> None:
    """Cut a last line a crash left unfinished (it was never fsynced, so never relied on)."""
    if not path.exists():
        return
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    if end != len(data):
        with path.open("r+b") as file:
            file.truncate(end)


def _count_lines(path: Path, offset: int) -> int:
    if not path.exists():
        return 0
    with path.open("rb") as file:
        file.seek(offset)
        return sum(1 for _ in file)
