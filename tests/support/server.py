"""Hosting the app for a test: in process (the default, no socket) or on a real uvicorn server.

In process, requests go from an httpx client straight to the ASGI app, whose lifespan (engine,
dispatcher...) runs on an event loop of its own in a thread, as under uvicorn: starting and
stopping costs a few milliseconds instead of uvicorn's 0.15-0.25 s of polling sleeps. Tests of
what only a socket shows (slow clients, header timeouts, connection and stream caps, the
limits `serve_options` sets, other processes reaching the URL) take the real server: mark them
`@pytest.mark.real_server` (the `api`, `serve` and `start` fixtures then serve over HTTP) or
call `serving()` themselves.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import uvicorn
from fastapi import FastAPI

from upwatch.api.serving import serve_options
from upwatch.settings import Settings

with warnings.catch_warnings():
    # Starlette asks for its `httpx2` fork; the client here is httpx's, as in the product.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

START_TIMEOUT_SECONDS = 15
IN_PROCESS_URL = "http://testserver"
# What the app sees as the peer of an in-process request: loopback, as over real HTTP.
IN_PROCESS_PEER = ("127.0.0.1", 50000)


@dataclass(frozen=True)
class Hosted:
    """Where a test reaches its app: the base URL, and the transport to send requests through
    (None: over the network, to a real server)."""

    base_url: str
    transport: httpx.BaseTransport | None = None

    def client(self, **options: object) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url,
            transport=self.transport,
            **{"timeout": 30, **options},  # type: ignore[arg-type]
        )


@contextmanager
def hosting(app: FastAPI, *, real_server: bool) -> Iterator[Hosted]:
    """Host `app` until the block ends: in process, or served over HTTP if `real_server`."""
    if real_server:
        with serving(app) as base_url:
            yield Hosted(base_url)
        return
    with in_process(app) as transport:
        yield Hosted(IN_PROCESS_URL, transport)


class _SharedTransport(httpx.BaseTransport):
    """The test client's transport for more clients: closing one of them must not abort the
    responses the others are still reading (the test client closes it at the end)."""

    def __init__(self, transport: httpx.BaseTransport) -> None:
        self._transport = transport

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._transport.handle_request(request)

    def close(self) -> None:
        pass


@contextmanager
def in_process(app: FastAPI) -> Iterator[httpx.BaseTransport]:
    """Run `app` with its lifespan on an event loop in a thread until the block ends; yields a
    transport delivering requests to it. Server errors are answered 500, as over HTTP."""
    with TestClient(app, raise_server_exceptions=False, client=IN_PROCESS_PEER) as test_client:
        yield _SharedTransport(test_client._transport)


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """Serve `app` until the block ends; yields its base URL."""
    # IPPROTO_TCP explicitly: asyncio then sets TCP_NODELAY on accepted connections; without
    # it every response waits ~40 ms on the client's delayed ACK (Nagle).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    settings: Settings = app.state.upwatch.settings
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        lifespan="on",
        loop="asyncio",
        timeout_graceful_shutdown=3,  # open event streams must not hold the test up
        **serve_options(settings),  # the limits `upwatch serve` sets (header timeout...)
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=lambda: asyncio.run(server.serve(sockets=[sock])), name="uvicorn", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
