"""Which monitors a process schedules when several worker processes share the work.

Monitor ids are split by remainder: process `index` of `count` schedules the monitors whose
id % count == index. The split needs no coordination and no table, never gives a monitor to
two processes of one layout, and spreads ids evenly (they are allocated in sequence).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Shard:
    index: int
    count: int

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise ValueError(f"shard {self.index}/{self.count}: need 0 <= index < count")

    @classmethod
    def parse(cls, text: str) -> Shard:
        """`"1/4"` is the second of four shards."""
        index, slash, count = text.partition("/")
        if not slash or not index.strip().isdigit() or not count.strip().isdigit():
            raise ValueError(f"shard {text!r}: expected INDEX/COUNT, e.g. 0/2")
        return cls(int(index), int(count))

    def owns(self, monitor_id: int) -> bool:
        return monitor_id % self.count == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


EVERYTHING = Shard(0, 1)
