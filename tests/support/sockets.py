"""Plain TCP (and TLS) servers on 127.0.0.1:<free port>, and a port nobody listens on."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class TcpServer:
    port: int = 0
    accepted: int = 0


@asynccontextmanager
async def serving_tcp(
    handler: Handler, ssl_context: ssl.SSLContext | None = None
) -> AsyncIterator[TcpServer]:
    """Serve `handler` for each connection until the block ends; counts connections."""
    state = TcpServer()

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state.accepted += 1
        try:
            await handler(reader, writer)
        except (ConnectionError, ssl.SSLError):
            pass  # the probe may hang up first; that is its right
        finally:
            writer.close()

    server = await asyncio.start_server(accept, "127.0.0.1", 0, ssl=ssl_context)
    state.port = server.sockets[0].getsockname()[1]
    try:
        yield state
    finally:
        server.close()
        await server.wait_closed()


async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accept, then close at once (the connection itself is what is checked)."""


def closed_port() -> int:
    """A port on 127.0.0.1 with no listener (bound once, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
