"""The TCP probe against real asyncio servers on 127.0.0.1."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.sockets import closed_port, hang_up, serving_tcp
from upwatch.probes.base import ProbeContext, ProbeError
from upwatch.probes.tcp import TcpConfig, TcpProbe

TIMEOUT = 5.0


async def pong(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A line protocol: PING gets +PONG, anything else -ERR; then the server hangs up."""
    line = await reader.readline()
    writer.write(b"+PONG\r\n" if line == b"PING\r\n" else b"-ERR unknown command\r\n")
    await writer.drain()


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accepts, reads, never answers, until the client leaves."""
    await reader.read()


async def test_an_open_port_is_up(context: ProbeContext) -> None:
    async with serving_tcp(hang_up) as server:
        result = await TcpProbe().run(f"127.0.0.1:{server.port}", TcpConfig(), TIMEOUT, context)

    assert result.ok, result.reason
    assert result.reason == "connected"
    assert server.accepted == 1
    assert result.details["address"] == "127.0.0.1"
    assert result.phases.connect_ms is not None
    assert result.phases.dns_ms == 0.0


async def test_a_host_name_is_resolved_before_connecting(context: ProbeContext) -> None:
    async with serving_tcp(hang_up) as server:
        result = await TcpProbe().run(
            f"localhost:{server.port}", TcpConfig(ip_version=4), TIMEOUT, context
        )

    assert result.ok, result.reason
    assert result.phases.dns_ms is not None


async def test_a_closed_port_is_connection_refused(context: ProbeContext) -> None:
    result = await TcpProbe().run(f"127.0.0.1:{closed_port()}", TcpConfig(), TIMEOUT, context)

    assert result.error_code is ProbeError.CONNECTION_REFUSED
    assert result.latency_ms is None


async def test_a_reply_that_contains_the_expected_text_passes(context: ProbeContext) -> None:
    config = TcpConfig(send="PING\r\n", expect="PONG")
    async with serving_tcp(pong) as server:
        result = await TcpProbe().run(f"127.0.0.1:{server.port}", config, TIMEOUT, context)

    assert result.ok, result.reason
    assert result.details["reply"] == "+PONG\r\n"
    assert result.phases.ttfb_ms is not None


async def test_a_reply_without_the_expected_text_is_a_mismatch(context: ProbeContext) -> None:
    config = TcpConfig(send="HELLO\r\n", expect="PONG")
    async with serving_tcp(pong) as server:
        result = await TcpProbe().run(f"127.0.0.1:{server.port}", config, TIMEOUT, context)

    assert result.error_code is ProbeError.EXPECT_MISMATCH
    assert result.details["reply"] == "-ERR unknown command\r\n"


async def test_a_server_that_never_replies_is_a_timeout(context: ProbeContext) -> None:
    config = TcpConfig(send="PING\r\n", expect="PONG")
    async with serving_tcp(silent) as server:
        result = await TcpProbe().run(f"127.0.0.1:{server.port}", config, 0.3, context)

    assert result.error_code is ProbeError.TIMEOUT


@pytest.mark.parametrize("target", ["127.0.0.1", "127.0.0.1:99999", ":80", "[::1]x", "host:port"])
async def test_a_target_without_a_valid_port_is_invalid(target: str, context: ProbeContext) -> None:
    result = await TcpProbe().run(target, TcpConfig(), TIMEOUT, context)

    assert result.error_code is ProbeError.INVALID_TARGET
