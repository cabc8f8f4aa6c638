"""TCP checks: the port accepts a connection and, optionally, answers what we send."""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field

from upwatch.net.connect import Connection, open_connection, parse_endpoint
from upwatch.probes.base import Phases, ProbeConfig, ProbeContext, ProbeError, ProbeResult
from upwatch.probes.failures import classify_connection_error

REPLY_LIMIT = 64 * 1024
REPLY_SHOWN = 200
FAMILIES = {4: socket.AF_INET, 6: socket.AF_INET6}


class TcpConfig(ProbeConfig):
    """A TCP check of the `host:port` given as target.

    `send` is written once connected (UTF-8); `expect` must then appear in the reply, read
    until it does, the peer closes, or time runs out.
    """

    kind: Literal["tcp"] = "tcp"
    send: str | None = Field(default=None, min_length=1)
    expect: str | None = Field(default=None, min_length=1)
    ip_version: Literal[4, 6] | None = None


class TcpProbe:
    kind: ClassVar[str] = "tcp"
    config_model: ClassVar[type[BaseModel]] = TcpConfig

    def check_target(self, target: str) -> str:
        """The host of `host:port`; ValueError otherwise."""
        return parse_endpoint(target).host.lower()

    async def run(
        self, target: str, config: TcpConfig, timeout_seconds: float, context: ProbeContext
    ) -> ProbeResult:
        try:
            endpoint = parse_endpoint(target)
        except ValueError as exc:
            return ProbeResult.failure(ProbeError.INVALID_TARGET, str(exc))
        started = time.perf_counter()
        deadline = asyncio.get_running_loop().time() + timeout_seconds
        try:
            async with asyncio.timeout_at(deadline):
                connection = await open_connection(
                    endpoint,
                    public_only=context.public_only,
                    family=FAMILIES.get(config.ip_version or 0, 0),
                )
        except TimeoutError:
            reason = f"could not connect to {target} within {timeout_seconds:g} s"
            return ProbeResult.failure(ProbeError.TIMEOUT, reason, phases=_total(started))
        except OSError as exc:
            code, reason = classify_connection_error(exc, endpoint.host)
            return ProbeResult.failure(code, reason, phases=_total(started))
        try:
            return await _converse(connection, config, deadline, started)
        finally:
            await connection.close()


def _total(started: float, **phases: float | None) -> Phases:
    return Phases(total_ms=(time.perf_counter() - started) * 1000, **phases)


@dataclass(slots=True)
class _Reply:
    text: str = ""
    first_byte_at: float | None = None
    timed_out: bool = False
    lost: str | None = None


async def _exchange(connection: Connection, config: TcpConfig, deadline: float) -> _Reply:
    """Send, then read until the expected text shows up, the peer closes, or time is up."""
    reply = _Reply()
    received = bytearray()
    try:
        async with asyncio.timeout_at(deadline):
            if config.send is not None:
                connection.writer.write(config.send.encode())
                await connection.writer.drain()
            while config.expect is not None and config.expect not in reply.text:
                chunk = await connection.reader.read(4096)
                if not chunk or len(received) >= REPLY_LIMIT:
                    break
                reply.first_byte_at = reply.first_byte_at or time.perf_counter()
                received += chunk
                reply.text = received.decode("utf-8", errors="replace")
    except TimeoutError:
        reply.timed_out = True
    except OSError as exc:
        reply.lost = f"connection lost: {exc.strerror or exc}"
    return reply


async def _converse(
    connection: Connection, config: TcpConfig, deadline: float, started: float
) -> ProbeResult:
    sent_at = time.perf_counter()
    reply = await _exchange(connection, config, deadline)
    phases = _total(
        started,
        dns_ms=connection.dns_ms,
        connect_ms=connection.connect_ms,
        ttfb_ms=(reply.first_byte_at - sent_at) * 1000 if reply.first_byte_at else None,
    )
    details: dict[str, Any] = {"address": connection.address}
    if config.expect is not None:
        details["reply"] = reply.text[:REPLY_SHOWN]
    failure = _failure(reply, config)
    if failure is not None:
        code, reason = failure
        return ProbeResult.failure(code, reason, phases=phases, details=details)
    return ProbeResult(
        ok=True,
        latency_ms=phases.total_ms,
        phases=phases,
        error_code=None,
        reason="connected" if config.expect is None else "the reply matched",
        details=details,
    )


def _failure(reply: _Reply, config: TcpConfig) -> tuple[ProbeError, str] | None:
    if reply.lost is not None:
        return ProbeError.CONNECTION_FAILED, reply.lost
    if reply.timed_out and not reply.text:
        return ProbeError.TIMEOUT, "connected, but no reply came in time"
    if config.expect is not None and config.expect not in reply.text:
        return ProbeError.EXPECT_MISMATCH, f"the reply does not contain {config.expect!r}"
    return None
