"""The ping probe against 127.0.0.1 (raw ICMP sockets need root; without it: unavailable)."""

from __future__ import annotations

import os

from upwatch.probes.base import ProbeContext, ProbeError
from upwatch.probes.ping import PingConfig, PingProbe


async def test_pinging_the_loopback_address_gets_every_reply(context: ProbeContext) -> None:
    result = await PingProbe().run("127.0.0.1", PingConfig(count=3, interval=0.05), 5.0, context)

    if os.geteuid() != 0:
        assert result.error_code is ProbeError.PING_UNAVAILABLE
        assert "CAP_NET_RAW" in result.reason
        return
    assert result.ok, result.reason
    assert result.details["packets_sent"] == 3
    assert result.details["packets_received"] == 3
    assert result.details["packet_loss_percent"] == 0
    assert result.latency_ms == result.details["avg_rtt_ms"]
    assert result.phases.dns_ms == 0.0 or result.phases.dns_ms is not None


async def test_a_ping_target_name_is_resolved_first(context: ProbeContext) -> None:
    result = await PingProbe().run("localhost", PingConfig(count=1, ip_version=4), 5.0, context)

    if os.geteuid() != 0:
        assert result.error_code is ProbeError.PING_UNAVAILABLE
        return
    assert result.ok, result.reason
    assert result.details["address"] == "127.0.0.1"


async def test_an_empty_ping_target_is_invalid(context: ProbeContext) -> None:
    result = await PingProbe().run("  ", PingConfig(), 5.0, context)

    assert result.error_code is ProbeError.INVALID_TARGET
