"""Fixed-window request counters: in memory for one process, in Redis to share them."""

from upwatch.ratelimit.limiter import (
    MemoryRateLimiter,
    RateLimiter,
    RateLimitResult,
    RedisRateLimiter,
)

__all__ = ["MemoryRateLimiter", "RateLimitResult", "RateLimiter", "RedisRateLimiter"]
