"""What the app holds for its lifetime, reachable from any request."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from redis.asyncio import Redis

from upwatch.api.metrics import HttpMetrics
from upwatch.core.clock import Clock
from upwatch.crypto import SecretBox
from upwatch.db.engine import Database
from upwatch.engine.dispatcher import Dispatcher
from upwatch.engine.engine import Engine
from upwatch.events import EventBus
from upwatch.events.streams import StreamCaps
from upwatch.heartbeats.credentials import PingCredentials
from upwatch.monitors.secrets import SecretStore
from upwatch.notify.vault import ChannelVault
from upwatch.ratelimit import RateLimiter
from upwatch.settings import Settings


@dataclass(slots=True)
class AppState:
    settings: Settings
    database: Database
    metrics: HttpMetrics
    clock: Clock
    limiter: RateLimiter
    idempotency_box: SecretBox  # stored responses may hold one-time secrets (new tokens)
    monitor_secrets: SecretStore
    ping_credentials: PingCredentials
    cursor_box: SecretBox  # seals row positions into cursors: no integer key leaves the server
    bus: EventBus
    engine: Engine
    channel_vault: ChannelVault
    webhook_secret_box: SecretBox  # the organizations' webhook signing secrets
    dispatcher: Dispatcher
    streams: StreamCaps  # open SSE and WebSocket streams under their caps
    redis: Redis | None = None


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.upwatch
    return state


async def current_state(request: Request) -> AppState:
    """`app_state` as a dependency. Async on purpose: FastAPI runs a plain `def` dependency
    in its thread pool, a thread hop on every request (a tenth of a ping's CPU)."""
    return app_state(request)
