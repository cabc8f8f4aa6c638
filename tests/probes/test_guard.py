"""The SSRF guard: with public_only on, no probe reaches a private address, not even once."""

from __future__ import annotations

import aiohttp
import pytest

from tests.support.dns_server import serving_dns
from tests.support.http_target import HttpTarget
from tests.support.sockets import hang_up, serving_tcp
from upwatch.net.guard import (
    AddressNotAllowedError,
    PublicOnlyResolver,
    allowed_addresses,
    is_public_address,
)
from upwatch.probes.base import ProbeContext, ProbeError
from upwatch.probes.dns import DnsConfig, DnsProbe
from upwatch.probes.http import HttpConfig, HttpProbe
from upwatch.probes.ping import PingConfig, PingProbe
from upwatch.probes.tcp import TcpConfig, TcpProbe
from upwatch.probes.tls import TlsConfig, TlsProbe

TIMEOUT = 5.0


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("1.1.1.1", True),
        ("2606:4700:4700::1111", True),
        ("::ffff:8.8.8.8", True),
        ("64:ff9b::808:808", True),
        ("127.0.0.1", False),
        ("127.255.255.254", False),
        ("10.0.0.1", False),
        ("172.16.5.4", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("255.255.255.255", False),
        ("224.0.0.251", False),
        ("240.0.0.1", False),
        ("192.0.2.1", False),
        ("198.18.0.1", False),
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fe80::1%eth0", False),
        ("fc00::1", False),
        ("fd12:3456::1", False),
        ("fec0::1", False),
        ("ff02::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("64:ff9b::7f00:1", False),
        ("64:ff9b:1::1", False),
        ("2002:7f00:1::1", False),
        ("2001:db8::1", False),
        ("not an address", False),
    ],
)
def test_only_globally_routable_unicast_addresses_are_public(address: str, public: bool) -> None:
    assert is_public_address(address) is public


def test_only_the_public_addresses_of_a_target_are_kept() -> None:
    addresses = ["10.0.0.1", "8.8.8.8", "::1", "2606:4700:4700::1111"]

    assert allowed_addresses("mixed.test", addresses, public_only=True) == [
        "8.8.8.8",
        "2606:4700:4700::1111",
    ]
    assert allowed_addresses("mixed.test", addresses, public_only=False) == addresses


def test_a_target_with_only_private_addresses_is_refused() -> None:
    with pytest.raises(AddressNotAllowedError, match=r"only public addresses are allowed"):
        allowed_addresses("intranet.test", ["10.0.0.1", "192.168.0.1"], public_only=True)


async def test_the_aiohttp_resolver_refuses_a_name_of_the_loopback() -> None:
    resolver = PublicOnlyResolver(aiohttp.ThreadedResolver())

    with pytest.raises(AddressNotAllowedError):
        await resolver.resolve("localhost", 80)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_an_http_check_of_a_private_address_never_reaches_it(
    http_target: HttpTarget, public_only: ProbeContext, host: str
) -> None:
    result = await HttpProbe().run(
        http_target.url("/ok", host=host), HttpConfig(), TIMEOUT, public_only
    )

    assert result.error_code is ProbeError.ADDRESS_NOT_ALLOWED
    assert "only public addresses are allowed" in result.reason
    assert http_target.received == []


async def test_without_public_only_a_private_address_is_allowed(
    http_target: HttpTarget, context: ProbeContext
) -> None:
    result = await HttpProbe().run(http_target.url("/ok"), HttpConfig(), TIMEOUT, context)

    assert result.ok


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_tcp_and_tls_checks_of_a_private_address_never_connect(
    public_only: ProbeContext, host: str
) -> None:
    async with serving_tcp(hang_up) as server:
        tcp = await TcpProbe().run(f"{host}:{server.port}", TcpConfig(), TIMEOUT, public_only)
        tls = await TlsProbe().run(f"{host}:{server.port}", TlsConfig(), TIMEOUT, public_only)

    assert tcp.error_code is ProbeError.ADDRESS_NOT_ALLOWED
    assert tls.error_code is ProbeError.ADDRESS_NOT_ALLOWED
    assert server.accepted == 0


async def test_a_ping_of_a_private_address_is_refused(public_only: ProbeContext) -> None:
    result = await PingProbe().run("127.0.0.1", PingConfig(count=1), TIMEOUT, public_only)

    assert result.error_code is ProbeError.ADDRESS_NOT_ALLOWED


async def test_a_dns_check_may_not_ask_a_private_nameserver(public_only: ProbeContext) -> None:
    async with serving_dns({"up.test": {"A": ["192.0.2.1"]}}) as server:
        result = await DnsProbe().run(
            "up.test", DnsConfig(resolver=server.address), TIMEOUT, public_only
        )

    assert result.error_code is ProbeError.ADDRESS_NOT_ALLOWED
    assert server.queries == 0
