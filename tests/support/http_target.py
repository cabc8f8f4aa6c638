"""A real aiohttp.web server on 127.0.0.1:<free port> for HTTP probes to check.

It records every request it receives, so tests can see what a probe really sent and how
many requests arrived.

Routes:
  /ok                 200 "hello upwatch"
  /status/{code}      that status, nothing else
  /redirect/{n}       n redirects (302): /redirect/{n-1} ... → /ok
  /loop               302 → /loop
  /to?url=...         302 → url
  /see-other          303 → /echo
  /slow               waits until the server stops
  /json               {"data": {"items": [{"status": "up", "count": 3}]}}
  /echo               JSON of the method, headers and body it received
  /auth               200 with Basic alice:secret, else 401
"""

from __future__ import annotations

import asyncio
import base64
import ssl
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web

JSON_DOCUMENT = {"data": {"items": [{"status": "up", "count": 3}]}}
CREDENTIALS = ("alice", "secret")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HttpTarget:
    """The running server: where it listens and what it received."""

    port: int = 0
    scheme: str = "http"
    received: list[Received] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    @property
    def hits(self) -> Counter[str]:
        return Counter(request.path for request in self.received)


def _app(target: HttpTarget) -> web.Application:
    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        body = await request.read()
        target.received.append(Received(request.method, request.path, dict(request.headers), body))
        return await handler(request)

    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="hello upwatch")

    async def status(request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]))

    async def redirect(request: web.Request) -> web.Response:
        remaining = int(request.match_info["n"])
        location = f"/redirect/{remaining - 1}" if remaining > 1 else "/ok"
        raise web.HTTPFound(location)

    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop")

    async def to(request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["url"])

    async def see_other(request: web.Request) -> web.Response:
        raise web.HTTPSeeOther("/echo")

    async def slow(request: web.Request) -> web.Response:
        await target.release.wait()
        return web.Response(text="late")

    async def json_document(request: web.Request) -> web.Response:
        return web.json_response(JSON_DOCUMENT)

    async def echo(request: web.Request) -> web.Response:
        received = target.received[-1]
        return web.json_response(
            {"method": received.method, "headers": received.headers, "body": received.body.decode()}
        )

    async def auth(request: web.Request) -> web.Response:
        expected = "Basic " + base64.b64encode(":".join(CREDENTIALS).encode()).decode()
        if request.headers.get("Authorization") != expected:
            return web.Response(status=401, headers={"WWW-Authenticate": "Basic"})
        return web.Response(text="welcome")

    app = web.Application(middlewares=[record])
    for path, handler in {
        "/ok": ok,
        "/status/{code}": status,
        "/redirect/{n}": redirect,
        "/loop": loop,
        "/to": to,
        "/see-other": see_other,
        "/slow": slow,
        "/json": json_document,
        "/echo": echo,
        "/auth": auth,
    }.items():
        app.router.add_route("*", path, handler)
    return app


@asynccontextmanager
async def serving_http(
    ssl_context: ssl.SSLContext | None = None, host: str = "127.0.0.1"
) -> AsyncIterator[HttpTarget]:
    """Serve until the block ends (HTTPS with `ssl_context`), on `host` (any of 127.0.0.0/8)."""
    target = HttpTarget(scheme="https" if ssl_context else "http")
    runner = web.AppRunner(_app(target), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, 0, ssl_context=ssl_context)
    await site.start()
    target.port = runner.addresses[0][1]
    try:
        yield target
    finally:
        target.release.set()
        await runner.cleanup()
