"""HTTP requests for checks: a fresh connection per request, redirects followed by hand.

A check measures what a visitor would see, so it never reuses a pooled connection: each
fetch has its own connector that closes every connection after its response. Redirects are
followed here rather than by aiohttp so that every hop passes the SSRF guard (aiohttp skips
the resolver for IP-literal hosts), is timed on its own, and so that credentials are not
carried to another origin.

Timing: aiohttp's trace hooks stamp the DNS lookup and the connection; `upwatch.net.tls`
adds the start of the TLS handshake, which happens inside aiohttp's connection step.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import time
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import aiohttp
from yarl import URL

from upwatch import __version__
from upwatch.net.connect import check_host
from upwatch.net.guard import PublicOnlyResolver, allowed_addresses, is_ip_literal
from upwatch.net.tls import Handshake, peer_certificate, watching

USER_AGENT = f"Upwatch/{__version__} (uptime monitor)"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


class TooManyRedirectsError(Exception):
    pass


@dataclass(slots=True)
class Request:
    method: str
    url: URL
    data: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Answer:
    """The final response, read (up to the body limit) before its connection closed."""

    status: int
    status_text: str
    url: URL
    location: URL | None
    body: bytes
    charset: str | None
    certificate_der: bytes | None


def _ms(start: float | None, end: float | None) -> float | None:
    return (end - start) * 1000 if start is not None and end is not None else None


@dataclass(slots=True)
class Hop:
    """`time.perf_counter()` stamps of one request; the trace hooks fill the first four."""

    dns_start: float | None = None
    dns_end: float | None = None
    connect_start: float | None = None
    connected: float | None = None
    handshake: Handshake = field(default_factory=Handshake)
    headers_at: float | None = None
    body_at: float | None = None

    @property
    def dns_ms(self) -> float | None:
        if self.dns_start is not None:
            return _ms(self.dns_start, self.dns_end)
        # Connected without a lookup: the host was an IP address.
        return 0.0 if self.connected is not None else None

    @property
    def connect_ms(self) -> float | None:
        return _ms(self.dns_end or self.connect_start, self.handshake.started or self.connected)

    @property
    def tls_ms(self) -> float | None:
        return _ms(self.handshake.started, self.connected)

    @property
    def ttfb_ms(self) -> float | None:
        return _ms(self.connected, self.headers_at)

    @property
    def transfer_ms(self) -> float | None:
        return _ms(self.headers_at, self.body_at)


@dataclass(slots=True)
class Exchange:
    """The hops of one fetch so far; the caller keeps it, so a timeout can still report them."""

    started: float = field(default_factory=time.perf_counter)
    hops: list[Hop] = field(default_factory=list)


def _hop(context: SimpleNamespace) -> Hop:
    hop = context.trace_request_ctx
    assert isinstance(hop, Hop), "every request passes trace_request_ctx=Hop()"
    return hop


async def _on_dns_start(_: aiohttp.ClientSession, context: SimpleNamespace, __: Any) -> None:
    _hop(context).dns_start = time.perf_counter()


async def _on_dns_end(_: aiohttp.ClientSession, context: SimpleNamespace, __: Any) -> None:
    _hop(context).dns_end = time.perf_counter()


async def _on_connect_start(_: aiohttp.ClientSession, context: SimpleNamespace, __: Any) -> None:
    _hop(context).connect_start = time.perf_counter()


async def _on_connect_end(_: aiohttp.ClientSession, context: SimpleNamespace, __: Any) -> None:
    _hop(context).connected = time.perf_counter()


def _trace_config() -> aiohttp.TraceConfig:
    trace = aiohttp.TraceConfig()
    trace.on_dns_resolvehost_start.append(_on_dns_start)
    trace.on_dns_resolvehost_end.append(_on_dns_end)
    trace.on_connection_create_start.append(_on_connect_start)
    trace.on_connection_create_end.append(_on_connect_end)
    trace.freeze()
    return trace


# One for every session: it holds only the callbacks (each request's timings live in its own
# trace context), and building one per check cost several percent of a busy worker's CPU.
TRACE = _trace_config()


def new_session(
    *, ssl_context: ssl.SSLContext, public_only: bool, ip_version: int | None = None
) -> aiohttp.ClientSession:
    """A session whose requests each open (and then close) their own connection.

    With `public_only`, names that resolve only to non-public addresses fail with
    `AddressNotAllowedError` as the `os_error` of aiohttp's connector error.
    """
    family = {4: socket.AF_INET, 6: socket.AF_INET6}.get(ip_version or 0, socket.AF_UNSPEC)
    resolver = PublicOnlyResolver(aiohttp.ThreadedResolver()) if public_only else None
    connector = aiohttp.TCPConnector(
        force_close=True, use_dns_cache=False, family=family, ssl=ssl_context, resolver=resolver
    )
    session = aiohttp.ClientSession(
        connector=connector,
        trace_configs=[TRACE],
        # The caller bounds the whole fetch with asyncio.timeout; no second clock here.
        timeout=aiohttp.ClientTimeout(),
        headers={"User-Agent": USER_AGENT},
    )
    # aiohttp silently resends an idempotent request once when the server drops the
    # connection, a courtesy meant for stale pooled connections. Ours are all fresh, so a
    # drop is a failure to report, not to hide. There is no public switch; aiohttp's own
    # test client turns off the same attribute.
    session._retry_connection = False
    return session


async def fetch(
    request: Request,
    exchange: Exchange,
    *,
    ssl_context: ssl.SSLContext,
    public_only: bool,
    ip_version: int | None = None,
    max_redirects: int | None = 5,
    body_limit: int,
) -> Answer:
    """The final answer to `request`, following up to `max_redirects` (None: follow none).

    Raises `TooManyRedirectsError`, `AddressNotAllowedError`, `aiohttp.ClientError` or
    another `OSError`.
    """
    session = new_session(ssl_context=ssl_context, public_only=public_only, ip_version=ip_version)
    async with session:
        for _ in range((max_redirects or 0) + 1):
            answer = await _send(session, request, exchange, public_only, max_redirects, body_limit)
            if answer.location is None:
                return answer
            request = _redirected(request, answer)
    raise TooManyRedirectsError


async def _send(
    session: aiohttp.ClientSession,
    request: Request,
    exchange: Exchange,
    public_only: bool,
    max_redirects: int | None,
    body_limit: int,
) -> Answer:
    host = request.url.raw_host or ""
    if is_ip_literal(host):  # aiohttp's resolver never sees these
        allowed_addresses(host, [host], public_only=public_only)
    hop = Hop()
    exchange.hops.append(hop)
    with watching(hop.handshake):
        async with session.request(
            request.method,
            request.url,
            data=request.data,
            headers=request.headers,
            allow_redirects=False,
            trace_request_ctx=hop,
        ) as response:
            hop.headers_at = time.perf_counter()
            location = _location(response) if max_redirects is not None else None
            skip_body = location is not None or request.method == "HEAD"
            body = b"" if skip_body else await _read_body(response, body_limit)
            hop.body_at = time.perf_counter()
            return Answer(
                status=response.status,
                status_text=response.reason or "",
                url=response.url,
                location=location,
                body=body,
                charset=response.charset,
                certificate_der=peer_certificate(hop.handshake.ssl_object),
            )


def _location(response: aiohttp.ClientResponse) -> URL | None:
    """Where a redirect points, when it points to another http(s) URL."""
    location = response.headers.get("Location")
    if response.status not in REDIRECT_STATUSES or not location:
        return None
    with contextlib.suppress(ValueError):  # a malformed URL or host is not followed
        target = response.url.join(URL(location))
        if target.scheme in ("http", "https") and check_host(target.raw_host or ""):
            return target
    return None


def _redirected(request: Request, answer: Answer) -> Request:
    """The request a browser would send next (RFC 9110 15.4, as browsers really do it)."""
    assert answer.location is not None
    method, data = request.method, request.data
    if (answer.status == 303 and method != "HEAD") or (
        answer.status in (301, 302) and method == "POST"
    ):
        method, data = "GET", None
    headers = request.headers
    if answer.location.origin() != request.url.origin():
        # Credentials are for the origin the user configured, not for wherever it sends us.
        private = ("authorization", "cookie")
        headers = {name: value for name, value in headers.items() if name.lower() not in private}
    return Request(method=method, url=answer.location, data=data, headers=headers)


async def _read_body(response: aiohttp.ClientResponse, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = await response.content.read(limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)
