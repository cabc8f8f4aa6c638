"""Plain TCP and TLS connections for probes: resolve, guard, connect, time each step.

Names are resolved here and the connection goes to an address that passed the SSRF guard,
so the guard judges the address actually used.
"""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
import time
from dataclasses import dataclass

from upwatch.net.guard import allowed_addresses, is_ip_literal

MAX_PORT = 65535
MAX_NAME_LENGTH = 253
CLOSE_GRACE_SECONDS = 1.0
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True, slots=True)
class Endpoint:
    host: str
    port: int


def check_host(host: str) -> str:
    """`host` when it is an IP address or a name the resolver can take; ValueError if not.

    Checked before any lookup, because the stdlib raises UnicodeError, not an OSError,
    for names IDNA cannot encode (a label longer than 63 characters, say).
    """
    if is_ip_literal(host):
        return host
    try:
        ascii_name = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError(f"{host!r} is not a valid host name") from None
    if not _NAME.match(ascii_name) or len(ascii_name) > MAX_NAME_LENGTH:
        raise ValueError(f"{host!r} is not a valid host name")
    return host


def parse_endpoint(target: str, *, default_port: int | None = None) -> Endpoint:
    """`host:port` or `[ipv6]:port`; a bare host (or bare IPv6 address) takes `default_port`.

    Raises ValueError saying what is wrong.
    """
    target = target.strip()
    host, port_text = target, ""
    if target.startswith("["):
        host, bracket, rest = target[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError(f"{target!r} is not host:port")
        port_text = rest[1:]
    elif target.count(":") == 1:
        host, _, port_text = target.partition(":")
    if not host:
        raise ValueError(f"{target!r} has no host")
    check_host(host)
    if not port_text:
        if default_port is None:
            raise ValueError(f"{target!r} has no port (host:port)")
        return Endpoint(host, default_port)
    if not port_text.isdigit() or not 0 < int(port_text) <= MAX_PORT:
        raise ValueError(f"{port_text!r} is not a port number (1-65535)")
    return Endpoint(host, int(port_text))


async def resolve(host: str, *, family: int = 0, public_only: bool) -> list[str]:
    """The addresses of `host` a probe may use, in resolver order.

    Raises `socket.gaierror` when the name does not resolve and `AddressNotAllowedError`
    when `public_only` refuses every address.
    """
    if is_ip_literal(host):
        return allowed_addresses(host, [host], public_only=public_only)
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, None, family=family, type=socket.SOCK_STREAM
    )
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    return allowed_addresses(host, addresses, public_only=public_only)


@dataclass(slots=True)
class Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    address: str
    dns_ms: float
    connect_ms: float
    tls_ms: float | None

    async def close(self) -> None:
        """Close politely (TLS close_notify), without waiting long for a silent peer."""
        self.writer.close()
        try:
            async with asyncio.timeout(CLOSE_GRACE_SECONDS):
                await self.writer.wait_closed()
        except TimeoutError:
            self.writer.transport.abort()
        except OSError:
            pass  # the peer is already gone; the socket is closed either way


async def _connect_first(addresses: list[str], port: int) -> tuple[socket.socket, str]:
    """A socket connected to the first address that accepts; the last error otherwise."""
    loop = asyncio.get_running_loop()
    error: OSError | None = None
    for address in addresses:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, (address, port))
        except OSError as exc:
            sock.close()
            error = exc
            continue
        except BaseException:
            sock.close()
            raise
        return sock, address
    assert error is not None  # resolve() never returns an empty list
    raise error


def _ms(start: float, end: float) -> float:
    return (end - start) * 1000


async def open_connection(
    endpoint: Endpoint,
    *,
    public_only: bool,
    family: int = 0,
    ssl_context: ssl.SSLContext | None = None,
    server_hostname: str | None = None,
) -> Connection:
    """Resolve, guard, connect and (with `ssl_context`) complete the TLS handshake.

    Raises `socket.gaierror`, `AddressNotAllowedError`, `ssl.SSLError` or another `OSError`.
    """
    started = time.perf_counter()
    addresses = await resolve(endpoint.host, family=family, public_only=public_only)
    resolved = time.perf_counter()
    sock, address = await _connect_first(addresses, endpoint.port)
    connected = time.perf_counter()
    try:
        reader, writer = await asyncio.open_connection(
            sock=sock,
            ssl=ssl_context,
            server_hostname=(server_hostname or endpoint.host) if ssl_context else None,
        )
    except BaseException:
        sock.close()
        raise
    ready = time.perf_counter()
    return Connection(
        reader=reader,
        writer=writer,
        address=address,
        dns_ms=0.0 if is_ip_literal(endpoint.host) else _ms(started, resolved),
        connect_ms=_ms(resolved, connected),
        tls_ms=_ms(connected, ready) if ssl_context else None,
    )
