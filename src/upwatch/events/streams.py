"""Caps on open live event streams (SSE and WebSocket): per token, per organization, in all.

A stream holds a socket, a subscriber queue of up to `SUBSCRIBER_QUEUE` events and a task
for as long as the client likes, so one token could otherwise hold thousands. A stream
takes a `StreamLease` before it subscribes and gives it back when it ends, however it ends
(`release` is idempotent, so every exit path may call it).

Counted per process, also with Redis: what a stream costs is spent in the process that
serves it, which is what the caps protect, and a per-process count can never be left
standing by a process that died (a shared one would need leases with heartbeats).
With N API processes an organization may hold up to N times the cap.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from upwatch.core.errors import AppError, ErrorCode

# Streams end when their clients go; a minute is a fair guess at when one will have.
RETRY_AFTER_SECONDS = 60
TOTAL = "total"


@dataclass(frozen=True, slots=True)
class StreamLimits:
    per_token: int
    per_organization: int
    total: int


class StreamLease:
    """One open stream's place under the caps."""

    def __init__(self, caps: StreamCaps, keys: tuple[str, ...]) -> None:
        self._caps = caps
        self._keys = keys
        self._held = True

    def release(self) -> None:
        if self._held:
            self._held = False
            self._caps._give_back(self._keys)


class StreamCaps:
    def __init__(self, limits: StreamLimits) -> None:
        self._limits = limits
        self._open: Counter[str] = Counter()

    @property
    def open_streams(self) -> int:
        return self._open[TOTAL]

    def acquire(self, holder: str, organization_id: int) -> StreamLease:
        """A lease for one more stream of `holder` (a token or user key) in `organization_id`,
        or 429 `TOO_MANY_STREAMS` naming the cap that is full."""
        caps = (
            (f"holder:{holder}", self._limits.per_token, "this token"),
            (f"organization:{organization_id}", self._limits.per_organization, "this organization"),
            (TOTAL, self._limits.total, "this server"),
        )
        for key, limit, whose in caps:
            if self._open[key] >= limit:
                raise AppError(
                    ErrorCode.TOO_MANY_STREAMS,
                    f"{whose.capitalize()} already has {limit} live event streams open; "
                    "close one or retry later.",
                    headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
                )
        keys = tuple(key for key, _, _ in caps)
        self._open.update(keys)
        return StreamLease(self, keys)

    def _give_back(self, keys: tuple[str, ...]) -> None:
        self._open.subtract(keys)
        for key in keys:
            if self._open[key] <= 0:
                del self._open[key]  # no empty entry left behind per token that ever streamed
