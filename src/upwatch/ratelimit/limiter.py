"""Fixed-window rate limiting (the GitHub model): at most `limit` hits per key per window,
the window starting at a multiple of its length, so `reset` is the same for every instance.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis


@dataclass(frozen=True, slots=True)
class RateLimitResult:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int  # until the window ends and the budget is full again

    def headers(self) -> dict[str, str]:
        values = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_seconds),
        }
        if not self.allowed:
            values["Retry-After"] = str(self.reset_seconds)
        return values


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: int, window_seconds: int) -> RateLimitResult: ...


def _window(window_seconds: int, now: float) -> tuple[int, int]:
    """The window's number and the whole seconds until it ends (at least 1)."""
    number = int(now // window_seconds)
    reset = max(1, math.ceil((number + 1) * window_seconds - now))
    return number, reset


def _result(count: int, limit: int, reset: int) -> RateLimitResult:
    return RateLimitResult(count <= limit, limit, max(0, limit - count), reset)


class MemoryRateLimiter:
    """Counters in this process only: right for a single `upwatch serve`."""

    def __init__(self, clock: object = time) -> None:
        self._clock = clock
        self._counts: dict[str, tuple[int, int]] = {}

    async def hit(self, key: str, limit: int, window_seconds: int) -> RateLimitResult:
        number, reset = _window(window_seconds, self._now())
        current_window, count = self._counts.get(key, (number, 0))
        count = count + 1 if current_window == number else 1
        self._counts[key] = (number, count)
        if len(self._counts) > 100_000:
            self._forget_old(number)
        return _result(count, limit, reset)

    def _now(self) -> float:
        return float(self._clock.time())  # type: ignore[attr-defined]

    def _forget_old(self, current: int) -> None:
        self._counts = {k: v for k, v in self._counts.items() if v[0] == current}


class RedisRateLimiter:
    """Counters in Redis, shared by every instance that uses the same server."""

    def __init__(self, redis: Redis, prefix: str = "upwatch:rl") -> None:
        self._redis = redis
        self._prefix = prefix

    async def hit(self, key: str, limit: int, window_seconds: int) -> RateLimitResult:
        number, reset = _window(window_seconds, time.time())
        redis_key = f"{self._prefix}:{key}:{number}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(redis_key)
            pipe.expire(redis_key, window_seconds + 5)
            count, _ = await pipe.execute()
        return _result(int(count), limit, reset)
