"""The DNS probe against a tiny real DNS server on 127.0.0.1."""

from __future__ import annotations

import pytest

from tests.support.dns_server import serving_dns
from upwatch.probes.base import ProbeContext, ProbeError
from upwatch.probes.dns import DnsConfig, DnsProbe, parse_nameserver

TIMEOUT = 5.0
ZONE = {
    "up.test": {
        "A": ["192.0.2.10", "192.0.2.11"],
        "TXT": ['"v=spf1 -all"', '"hello" " world"'],
        "MX": ["10 Mail.Up.Test."],
    },
}


async def test_a_records_resolve_and_are_listed(context: ProbeContext) -> None:
    async with serving_dns(ZONE) as server:
        config = DnsConfig(record_type="A", resolver=server.address)
        result = await DnsProbe().run("up.test", config, TIMEOUT, context)

    assert result.ok, result.reason
    assert result.details["answers"] == ["192.0.2.10", "192.0.2.11"]
    assert result.details["ttl"] == 300
    assert result.latency_ms is not None
    assert result.phases.dns_ms is not None


async def test_every_expected_value_must_be_among_the_answers(context: ProbeContext) -> None:
    async with serving_dns(ZONE) as server:
        present = await DnsProbe().run(
            "up.test",
            DnsConfig(resolver=server.address, expected=["192.0.2.11"]),
            TIMEOUT,
            context,
        )
        missing = await DnsProbe().run(
            "up.test",
            DnsConfig(resolver=server.address, expected=["192.0.2.10", "192.0.2.99"]),
            TIMEOUT,
            context,
        )

    assert present.ok, present.reason
    assert missing.error_code is ProbeError.DNS_MISMATCH
    assert "192.0.2.99" in missing.reason
    assert "192.0.2.10," not in missing.reason.split(" not among")[0]


async def test_txt_records_match_their_text_without_quotes(context: ProbeContext) -> None:
    async with serving_dns(ZONE) as server:
        config = DnsConfig(
            record_type="TXT", resolver=server.address, expected=["V=SPF1 -all", "hello world"]
        )
        result = await DnsProbe().run("up.test.", config, TIMEOUT, context)

    assert result.ok, result.reason
    assert sorted(result.details["answers"]) == ["hello world", "v=spf1 -all"]


async def test_mx_records_match_case_insensitively_without_trailing_dots(
    context: ProbeContext,
) -> None:
    async with serving_dns(ZONE) as server:
        config = DnsConfig(
            record_type="MX", resolver=server.address, expected=["mail.up.test", "10 MAIL.up.test."]
        )
        result = await DnsProbe().run("up.test", config, TIMEOUT, context)

    assert result.ok, result.reason


async def test_a_name_that_does_not_exist_is_a_dns_failure(context: ProbeContext) -> None:
    async with serving_dns(ZONE) as server:
        result = await DnsProbe().run(
            "nothing.test", DnsConfig(resolver=server.address), TIMEOUT, context
        )

    assert result.error_code is ProbeError.DNS_FAILURE
    assert "NXDOMAIN" in result.reason


async def test_a_name_without_records_of_the_type_is_a_dns_failure(
    context: ProbeContext,
) -> None:
    async with serving_dns(ZONE) as server:
        config = DnsConfig(record_type="AAAA", resolver=server.address)
        result = await DnsProbe().run("up.test", config, TIMEOUT, context)

    assert result.error_code is ProbeError.DNS_FAILURE
    assert result.reason == "up.test has no AAAA record"


async def test_a_nameserver_that_never_answers_is_a_timeout(context: ProbeContext) -> None:
    async with serving_dns(ZONE, silent=True) as server:
        result = await DnsProbe().run("up.test", DnsConfig(resolver=server.address), 0.3, context)

    assert result.error_code is ProbeError.TIMEOUT
    assert server.queries >= 1


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("9.9.9.9", ("9.9.9.9", 53)),
        ("9.9.9.9:5353", ("9.9.9.9", 5353)),
        ("2620:fe::fe", ("2620:fe::fe", 53)),
        ("[2620:fe::fe]:853", ("2620:fe::fe", 853)),
    ],
)
def test_a_nameserver_is_an_ip_address_with_an_optional_port(
    text: str, parsed: tuple[str, int]
) -> None:
    assert parse_nameserver(text) == parsed


@pytest.mark.parametrize("text", ["dns.example", "9.9.9.9:0", "9.9.9.9:dns", "[::1"])
def test_anything_else_is_not_a_nameserver(text: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse_nameserver(text)
