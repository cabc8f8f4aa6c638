"""`create_app(settings)`: the one way to build the HTTP application."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from redis.asyncio import Redis

from upwatch import __version__
from upwatch.api import health
from upwatch.api.docs import install_docs
from upwatch.api.errors import install_error_handlers
from upwatch.api.housekeeping import purge_expired_periodically
from upwatch.api.idempotency import IdempotencyMiddleware, install_replay_handler
from upwatch.api.metrics import HttpMetrics
from upwatch.api.middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from upwatch.api.openapi import install_openapi
from upwatch.api.routes import ROUTERS
from upwatch.api.state import AppState
from upwatch.core.clock import Clock, SystemClock
from upwatch.crypto import SecretBox, resolve_secret_key
from upwatch.db.engine import Database
from upwatch.ratelimit import MemoryRateLimiter, RedisRateLimiter
from upwatch.settings import Settings

DESCRIPTION = (
    "Upwatch monitors websites, APIs, servers and cron jobs. Every feature is available "
    "through this API; errors follow one envelope with stable codes."
)


def create_app(settings: Settings, *, clock: Clock | None = None) -> FastAPI:
    redis = _redis_client(settings)
    state = AppState(
        settings=settings,
        database=Database(settings.effective_database_url),
        metrics=HttpMetrics(),
        clock=clock or SystemClock(),
        limiter=RedisRateLimiter(redis) if redis is not None else MemoryRateLimiter(),
        idempotency_box=SecretBox(resolve_secret_key(settings), "idempotency-responses"),
        redis=redis,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        housekeeping = asyncio.create_task(purge_expired_periodically(state))
        try:
            yield
        finally:
            housekeeping.cancel()
            await state.database.dispose()
            if state.redis is not None:
                await state.redis.aclose()

    app = FastAPI(
        title="Upwatch",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.upwatch = state
    install_error_handlers(app)
    install_replay_handler(app)
    install_openapi(app)
    install_docs(app)
    app.include_router(health.router)
    for router in ROUTERS:
        app.include_router(router)
    # Added last = outermost: the request context wraps everything, even the size check.
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware, metrics=state.metrics)
    return app


def _redis_client(settings: Settings) -> Redis | None:
    if settings.redis_url is None:
        return None
    return Redis.from_url(
        settings.redis_url.get_secret_value(),
        socket_connect_timeout=2,
        socket_timeout=5,
    )
