"""ICMP ping checks (icmplib, raw sockets): replies come back, and few enough are lost.

Raw ICMP sockets need root or CAP_NET_RAW. Without them the check reports
PING_UNAVAILABLE with the fix, rather than failing the monitor's target for our own
limitation. The name is resolved here, not by icmplib, so the SSRF guard sees the address.
"""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any, ClassVar, Literal

from icmplib import (
    ICMPLibError,
    SocketPermissionError,
    async_ping,
)
from pydantic import BaseModel, Field

from upwatch.net.connect import check_host, resolve
from upwatch.probes.base import Phases, ProbeConfig, ProbeContext, ProbeError, ProbeResult
from upwatch.probes.failures import classify_connection_error

FAMILIES = {4: socket.AF_INET, 6: socket.AF_INET6}
MIN_REPLY_WAIT_SECONDS = 0.05
NO_PRIVILEGE = (
    "ping needs raw ICMP sockets: run the worker as root or grant it CAP_NET_RAW "
    "(setcap cap_net_raw+ep on the Python binary); unprivileged ICMP sockets would also "
    "need net.ipv4.ping_group_range to include the worker's group"
)


class PingConfig(ProbeConfig):
    """An ICMP echo check of the host given as target.

    Sends `count` echo requests `interval` seconds apart; fails when no reply comes back or
    when more than `max_loss_percent` of them are lost. The latency is the average RTT.
    """

    kind: Literal["ping"] = "ping"
    count: int = Field(default=3, ge=1, le=100)
    interval: float = Field(default=0.2, ge=0.01, le=10)
    max_loss_percent: float = Field(default=0, ge=0, lt=100)
    ip_version: Literal[4, 6] | None = None


class PingProbe:
    kind: ClassVar[str] = "ping"
    config_model: ClassVar[type[BaseModel]] = PingConfig

    def check_target(self, target: str) -> str:
        """The host to ping; ValueError if it is not a host name or an IP address."""
        return check_host(target.strip()).lower()

    async def run(
        self, target: str, config: PingConfig, timeout_seconds: float, context: ProbeContext
    ) -> ProbeResult:
        host = target.strip().removeprefix("[").removesuffix("]")
        try:
            check_host(host)
        except ValueError as exc:
            return ProbeResult.failure(ProbeError.INVALID_TARGET, str(exc))
        started = time.perf_counter()
        resolved: float | None = None
        try:
            async with asyncio.timeout(timeout_seconds):
                addresses = await resolve(
                    host,
                    family=FAMILIES.get(config.ip_version or 0, 0),
                    public_only=context.public_only,
                )
                resolved = time.perf_counter()
                reply_wait = _reply_wait(config, timeout_seconds - (resolved - started))
                pinged = await async_ping(
                    addresses[0],
                    count=config.count,
                    interval=config.interval,
                    timeout=reply_wait,
                    privileged=True,
                )
        except TimeoutError:
            reason = f"no ping result within {timeout_seconds:g} s"
            return ProbeResult.failure(ProbeError.TIMEOUT, reason, phases=_total(started))
        except (SocketPermissionError, PermissionError):
            return ProbeResult.failure(ProbeError.PING_UNAVAILABLE, NO_PRIVILEGE)
        except ICMPLibError as exc:
            reason = f"cannot send ICMP packets: {exc}"
            return ProbeResult.failure(ProbeError.CONNECTION_FAILED, reason)
        except OSError as exc:
            code, reason = classify_connection_error(exc, host)
            return ProbeResult.failure(code, reason, phases=_total(started))
        dns_ms = (resolved - started) * 1000
        return _judge(pinged, config, _total(started, dns_ms=dns_ms))


def _reply_wait(config: PingConfig, remaining: float) -> float:
    """How long to wait for each reply so that all `count` of them fit in the time left.

    icmplib sends a request, waits up to this long for its reply, sleeps `interval`, and
    so on.
    """
    budget = remaining - (config.count - 1) * config.interval
    return max(budget / config.count, MIN_REPLY_WAIT_SECONDS)


def _total(started: float, dns_ms: float | None = None) -> Phases:
    return Phases(dns_ms=dns_ms, total_ms=(time.perf_counter() - started) * 1000)


def _judge(pinged: Any, config: PingConfig, phases: Phases) -> ProbeResult:
    sent, received = int(pinged.packets_sent), int(pinged.packets_received)
    loss = float(pinged.packet_loss) * 100
    details: dict[str, Any] = {
        "address": str(pinged.address),
        "packets_sent": sent,
        "packets_received": received,
        "packet_loss_percent": loss,
        "min_rtt_ms": float(pinged.min_rtt) if received else None,
        "avg_rtt_ms": float(pinged.avg_rtt) if received else None,
        "max_rtt_ms": float(pinged.max_rtt) if received else None,
        "jitter_ms": float(pinged.jitter) if received > 1 else None,
    }
    latency = details["avg_rtt_ms"]
    if received == 0:
        reason = f"no reply from {pinged.address}: {sent} of {sent} packets lost"
        return ProbeResult.failure(ProbeError.PACKET_LOSS, reason, phases=phases, details=details)
    if loss > config.max_loss_percent:
        lost = f"{sent - received} of {sent}"
        reason = f"{loss:.0f}% packet loss ({lost}), allowed {config.max_loss_percent:g}%"
        return ProbeResult.failure(
            ProbeError.PACKET_LOSS, reason, phases=phases, latency_ms=latency, details=details
        )
    return ProbeResult(
        ok=True,
        latency_ms=latency,
        phases=phases,
        error_code=None,
        reason=f"{received} of {sent} replies, average {latency:.1f} ms",
        details=details,
    )
