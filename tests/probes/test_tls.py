"""The TLS certificate probe against a real asyncio TLS server with trustme certificates."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import trustme

from tests.support.certificates import ca_pem, server_context
from tests.support.sockets import closed_port, hang_up, serving_tcp
from upwatch.probes.base import ProbeContext, ProbeError
from upwatch.probes.tls import TlsConfig, TlsProbe, warn_threshold

TIMEOUT = 5.0


async def test_a_valid_certificate_passes_with_its_days_left_and_warning_threshold(
    ca: trustme.CA, context: ProbeContext
) -> None:
    not_after = context.now + timedelta(days=10, hours=12)
    config = TlsConfig(ca_bundle_pem=ca_pem(ca))
    async with serving_tcp(hang_up, server_context(ca, not_after=not_after)) as server:
        result = await TlsProbe().run(f"localhost:{server.port}", config, TIMEOUT, context)

    assert result.ok, result.reason
    assert result.certificate is not None
    assert result.certificate.days_left == 10
    assert result.details["warn_threshold"] == 14
    assert result.details["tls_version"].startswith("TLS")
    assert result.reason == "certificate valid for 10 more days"
    phases = result.phases
    assert None not in (phases.dns_ms, phases.connect_ms, phases.tls_ms, phases.total_ms)


async def test_a_certificate_far_from_expiry_has_no_warning_threshold(
    ca: trustme.CA, context: ProbeContext
) -> None:
    config = TlsConfig(ca_bundle_pem=ca_pem(ca))
    async with serving_tcp(hang_up, server_context(ca)) as server:
        result = await TlsProbe().run(f"127.0.0.1:{server.port}", config, TIMEOUT, context)

    assert result.ok, result.reason
    assert result.details["warn_threshold"] is None


async def test_an_expired_certificate_fails_and_is_still_shown_with_negative_days_left(
    ca: trustme.CA, context: ProbeContext
) -> None:
    expired = server_context(
        ca,
        not_before=context.now - timedelta(days=90),
        not_after=context.now - timedelta(days=1, hours=12),
    )
    config = TlsConfig(ca_bundle_pem=ca_pem(ca))
    async with serving_tcp(hang_up, expired) as server:
        result = await TlsProbe().run(f"127.0.0.1:{server.port}", config, TIMEOUT, context)

    assert result.error_code is ProbeError.CERT_EXPIRED
    assert result.certificate is not None
    assert result.certificate.days_left == -2
    assert result.details["warn_threshold"] == 1


async def test_a_certificate_expired_by_the_schedulers_clock_fails(
    ca: trustme.CA, context: ProbeContext
) -> None:
    not_after = context.now + timedelta(days=5)
    later = ProbeContext(now=context.now + timedelta(days=5, hours=12))
    config = TlsConfig(ca_bundle_pem=ca_pem(ca))
    async with serving_tcp(hang_up, server_context(ca, not_after=not_after)) as server:
        result = await TlsProbe().run(f"127.0.0.1:{server.port}", config, TIMEOUT, later)

    assert result.error_code is ProbeError.CERT_EXPIRED
    assert result.certificate is not None
    assert result.certificate.days_left == -1


async def test_a_certificate_for_another_name_is_a_hostname_mismatch(
    ca: trustme.CA, context: ProbeContext
) -> None:
    config = TlsConfig(ca_bundle_pem=ca_pem(ca))
    async with serving_tcp(hang_up, server_context(ca, "other.test")) as server:
        result = await TlsProbe().run(f"localhost:{server.port}", config, TIMEOUT, context)

    assert result.error_code is ProbeError.CERT_HOSTNAME_MISMATCH
    assert result.certificate is not None
    assert result.certificate.san == ("other.test",)


async def test_the_server_name_can_differ_from_the_address_connected_to(
    ca: trustme.CA, context: ProbeContext
) -> None:
    config = TlsConfig(ca_bundle_pem=ca_pem(ca), server_name="service.test")
    async with serving_tcp(hang_up, server_context(ca, "service.test")) as server:
        result = await TlsProbe().run(f"127.0.0.1:{server.port}", config, TIMEOUT, context)

    assert result.ok, result.reason


async def test_a_certificate_from_an_unknown_ca_is_untrusted(
    ca: trustme.CA, context: ProbeContext
) -> None:
    async with serving_tcp(hang_up, server_context(ca)) as server:
        result = await TlsProbe().run(f"127.0.0.1:{server.port}", TlsConfig(), TIMEOUT, context)

    assert result.error_code is ProbeError.CERT_UNTRUSTED
    assert result.certificate is not None


async def test_a_server_that_does_not_speak_tls_is_a_tls_error(context: ProbeContext) -> None:
    async def plain_text(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")

    async with serving_tcp(plain_text) as server:
        result = await TlsProbe().run(f"127.0.0.1:{server.port}", TlsConfig(), TIMEOUT, context)

    assert result.error_code is ProbeError.TLS_ERROR
    assert result.certificate is None


async def test_a_closed_port_is_connection_refused(context: ProbeContext) -> None:
    result = await TlsProbe().run(f"127.0.0.1:{closed_port()}", TlsConfig(), TIMEOUT, context)

    assert result.error_code is ProbeError.CONNECTION_REFUSED


@pytest.mark.parametrize(
    ("days_left", "threshold"),
    [(40, None), (30, 30), (29, 30), (14, 14), (8, 14), (7, 7), (1, 1), (0, 1), (-5, 1)],
)
def test_the_warning_threshold_is_the_smallest_one_reached(
    days_left: int, threshold: int | None
) -> None:
    assert warn_threshold(days_left, [30, 14, 7, 3, 1]) == threshold
