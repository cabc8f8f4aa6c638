"""How uvicorn serves the app: its options, and a protocol that bounds slow clients.

uvicorn closes idle keep-alive connections (`timeout_keep_alive`) but waits forever for a
request's headers: 200 connections trickling a header byte at a time stayed open. The
protocol here closes a connection whose request line and headers are not complete within
`header_timeout` seconds, counted from the connection (a client that sends nothing) or, on a
kept-alive connection, from the request's first byte (the wait before it is the keep-alive
timeout's). It also answers a request beyond `max_connections` with our 503 envelope, where
uvicorn's own `limit_concurrency` answers in plain text. The body is bounded by the app
(api/timeouts.py), the first place that waits for it.

`serve_options(settings)` is used by `upwatch serve` (also with `--workers N`: the protocol
factory is a `functools.partial` of a module-level class, so it pickles into each process)
and by the tests' server, so tests meet the same limits.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from starlette.types import Receive, Scope, Send
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from upwatch.api.timeouts import send_error
from upwatch.core.errors import ErrorCode
from upwatch.logs import get_logger
from upwatch.settings import Settings

log = get_logger("upwatch.http")
OVERLOAD_RETRY_AFTER_SECONDS = 1


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        header_timeout: float,
        max_connections: int,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.header_timeout = header_timeout
        self.max_connections = max_connections
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_header_timer()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        # Started already for a connection's first request: its deadline counts from the
        # connection, so a client cannot win more time by sending one byte just in time.
        if self._header_timer is None:
            self._start_header_timer()

    def on_headers_complete(self) -> None:
        self._stop_header_timer()
        if len(self.connections) <= self.max_connections:
            super().on_headers_complete()
            return
        log.warning("http.connection_cap", max_connections=self.max_connections)
        # uvicorn reads the app to run from `self.app` in this call: swap in the refusal.
        app = self.app
        self.app = _overloaded
        try:
            super().on_headers_complete()
        finally:
            self.app = app

    def _start_header_timer(self) -> None:
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _stop_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            log.info("http.header_timeout", seconds=self.header_timeout)
            self.transport.close()


async def _overloaded(_scope: Scope, _receive: Receive, send: Send) -> None:
    """503 `SERVICE_UNAVAILABLE` for a request beyond the connection cap; the connection is
    closed after it, which is what brings the count back down."""
    message = "This server holds its most connections; retry shortly."
    retry_after = {"Retry-After": str(OVERLOAD_RETRY_AFTER_SECONDS)}
    await send_error(send, ErrorCode.SERVICE_UNAVAILABLE, message, retry_after)


def serve_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options for these settings (`uvicorn.run(**...)`, `uvicorn.Config(**...)`)."""
    protocol = functools.partial(
        GuardedHttpToolsProtocol,
        header_timeout=settings.header_timeout_seconds,
        max_connections=settings.max_connections,
    )
    return {"http": protocol, "timeout_keep_alive": settings.keep_alive_timeout_seconds}
