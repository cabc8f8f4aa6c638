"""`create_app(settings)`: the one way to build the HTTP application."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
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
from upwatch.api.ping_path import PingFastPath
from upwatch.api.routes import ROUTERS
from upwatch.api.state import AppState
from upwatch.api.strictness import strict_request
from upwatch.api.timeouts import BodyTimeoutMiddleware
from upwatch.core.clock import Clock, SystemClock
from upwatch.crypto import SecretBox, resolve_secret_key
from upwatch.db.engine import Database
from upwatch.engine.dispatcher import Dispatcher
from upwatch.engine.engine import Engine
from upwatch.events import EventBus, MemoryEventBus
from upwatch.events.redis_bus import RedisEventBus
from upwatch.events.streams import StreamCaps, StreamLimits
from upwatch.heartbeats.credentials import PingCredentials
from upwatch.logs import configure_logging
from upwatch.monitors.secrets import SecretStore
from upwatch.notify.followups import Followups
from upwatch.notify.vault import ChannelVault
from upwatch.ratelimit import MemoryRateLimiter, RedisRateLimiter
from upwatch.settings import Settings, load_settings

DESCRIPTION = (
    "Upwatch monitors websites, APIs, servers and cron jobs. Every feature is available "
    "through this API; errors follow one envelope with stable codes."
)


def create_app(settings: Settings, *, clock: Clock | None = None) -> FastAPI:
    redis = redis_client(settings)
    instance_key = resolve_secret_key(settings)
    clock = clock or SystemClock()
    database = Database(
        settings.effective_database_url, sqlite_synchronous=settings.sqlite_synchronous
    )
    bus = event_bus(redis, instance_key)
    monitor_secrets = SecretStore(SecretBox(instance_key, "monitor-secrets"))
    metrics = HttpMetrics()
    channel_vault = ChannelVault(SecretBox(instance_key, "channel-secrets"))
    webhook_secret_box = SecretBox(instance_key, "webhook-secrets")
    dispatcher = Dispatcher(database, settings, clock, bus, channel_vault, webhook_secret_box)
    dispatcher.followups = Followups(database, clock)
    state = AppState(
        settings=settings,
        database=database,
        metrics=metrics,
        clock=clock,
        limiter=RedisRateLimiter(redis) if redis is not None else MemoryRateLimiter(),
        idempotency_box=SecretBox(instance_key, "idempotency-responses"),
        monitor_secrets=monitor_secrets,
        ping_credentials=PingCredentials(SecretBox(instance_key, "ping-credentials")),
        cursor_box=SecretBox(instance_key, "cursors"),
        bus=bus,
        engine=Engine(database, settings, monitor_secrets, bus, clock, metrics.registry),
        channel_vault=channel_vault,
        webhook_secret_box=webhook_secret_box,
        dispatcher=dispatcher,
        streams=StreamCaps(stream_limits(settings)),
        redis=redis,
    )

    metrics.watch_streams(lambda: state.streams.open_streams, lambda: state.bus.subscriber_count)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if isinstance(bus, RedisEventBus):
            await bus.start()
        await state.engine.start(schedule_checks=settings.run_checks)
        # What exists now (the app, every monitor's live state, caches) lives as long as the
        # process: moved out of the collector's reach, full collections stop walking it
        # (they paused requests 110-140 ms at 10,000 monitors).
        gc.collect()
        gc.freeze()
        housekeeping = asyncio.create_task(purge_expired_periodically(state))
        if settings.run_dispatcher:
            dispatcher.start()
        try:
            yield
        finally:
            # Awaited, not only cancelled: a purge still running would otherwise outlive the
            # database it uses and hold up the event loop's close (the first purge runs at
            # once, so a short-lived app stopped during it).
            housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await housekeeping
            await dispatcher.stop()
            await state.engine.stop()
            if isinstance(bus, RedisEventBus):
                await bus.stop()
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
        # No 307 to the path without (or with) a trailing slash: a ping client that does not
        # follow it loses the ping, and one that follows a POST's redirect as a GET turns a
        # create into a list. An unknown path is a plain 404.
        redirect_slashes=False,
    )
    app.state.upwatch = state
    install_error_handlers(app)
    install_replay_handler(app)
    install_openapi(app)
    install_docs(app)
    # Every route refuses unknown query parameters and text no database stores (strictness.py).
    strict = [Depends(strict_request)]
    app.include_router(health.router, dependencies=strict)
    for router in ROUTERS:
        app.include_router(router, dependencies=strict)
    # Added last = outermost: the request context wraps everything, even the size check.
    app.add_middleware(PingFastPath)  # innermost: just before FastAPI's own routing
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(
        BodyTimeoutMiddleware,
        idle_seconds=settings.body_idle_timeout_seconds,
        total_seconds=settings.body_timeout_seconds,
    )
    app.add_middleware(RequestContextMiddleware, metrics=state.metrics)
    return app


def app_from_environment() -> FastAPI:
    """The app of one process of `upwatch serve --workers N`, which uvicorn starts afresh:
    settings from the environment, and this process's own logging."""
    settings = load_settings()
    configure_logging(settings)
    return create_app(settings)


def redis_client(settings: Settings) -> Redis | None:
    if settings.redis_url is None:
        return None
    return Redis.from_url(
        settings.redis_url.get_secret_value(),
        socket_connect_timeout=2,
        socket_timeout=5,
    )


def stream_limits(settings: Settings) -> StreamLimits:
    return StreamLimits(
        per_token=settings.streams_per_token,
        per_organization=settings.streams_per_organization,
        total=settings.max_streams,
    )


def event_bus(redis: Redis | None, instance_key: str) -> EventBus:
    """Events shared by every process of the installation through Redis, or kept in this
    process without it."""
    if redis is None:
        return MemoryEventBus()
    # The instance key is shared by every process of an installation and by no other.
    return RedisEventBus(redis, hashlib.sha256(instance_key.encode()).hexdigest()[:16])
