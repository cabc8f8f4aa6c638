"""The HTTP probe over TLS, against a real aiohttp server with trustme certificates."""

from __future__ import annotations

from datetime import timedelta

import trustme

from tests.support.certificates import ca_pem, server_context
from tests.support.http_target import serving_http
from upwatch.probes.base import ProbeContext, ProbeError
from upwatch.probes.http import HttpConfig, HttpProbe

TIMEOUT = 5.0


async def test_a_certificate_from_a_trusted_ca_is_accepted_and_recorded(
    ca: trustme.CA, context: ProbeContext
) -> None:
    not_after = context.now + timedelta(days=10, hours=12)
    config = HttpConfig(ca_bundle_pem=ca_pem(ca))
    async with serving_http(server_context(ca, not_after=not_after)) as target:
        result = await HttpProbe().run(
            target.url("/ok", host="localhost"), config, TIMEOUT, context
        )

    assert result.ok, result.reason
    certificate = result.certificate
    assert certificate is not None
    assert certificate.days_left == 10
    assert certificate.not_after == not_after.replace(microsecond=0)
    assert "localhost" in certificate.san
    assert "127.0.0.1" in certificate.san
    assert certificate.issuer != certificate.subject
    assert len(certificate.fingerprint_sha256) == 64


async def test_every_phase_of_an_https_check_is_measured(
    ca: trustme.CA, context: ProbeContext
) -> None:
    config = HttpConfig(ca_bundle_pem=ca_pem(ca))
    async with serving_http(server_context(ca)) as target:
        result = await HttpProbe().run(
            target.url("/ok", host="localhost"), config, TIMEOUT, context
        )

    phases = result.phases
    parts = [phases.dns_ms, phases.connect_ms, phases.tls_ms, phases.ttfb_ms, phases.transfer_ms]
    assert all(part is not None and part >= 0 for part in parts), phases
    assert phases.total_ms is not None
    assert sum(part for part in parts if part is not None) <= phases.total_ms


async def test_a_certificate_from_an_unknown_ca_is_untrusted(
    ca: trustme.CA, context: ProbeContext
) -> None:
    async with serving_http(server_context(ca)) as target:
        result = await HttpProbe().run(target.url("/ok"), HttpConfig(), TIMEOUT, context)

    assert not result.ok
    assert result.error_code is ProbeError.CERT_UNTRUSTED
    assert target.received == []


async def test_a_certificate_for_another_name_is_a_hostname_mismatch(
    ca: trustme.CA, context: ProbeContext
) -> None:
    config = HttpConfig(ca_bundle_pem=ca_pem(ca))
    async with serving_http(server_context(ca, "other.test")) as target:
        by_name = await HttpProbe().run(
            target.url("/ok", host="localhost"), config, TIMEOUT, context
        )
        by_address = await HttpProbe().run(target.url("/ok"), config, TIMEOUT, context)

    assert by_name.error_code is ProbeError.CERT_HOSTNAME_MISMATCH
    assert by_address.error_code is ProbeError.CERT_HOSTNAME_MISMATCH


async def test_an_expired_certificate_is_reported_as_expired(
    ca: trustme.CA, context: ProbeContext
) -> None:
    expired = server_context(
        ca,
        not_before=context.now - timedelta(days=90),
        not_after=context.now - timedelta(days=1),
    )
    config = HttpConfig(ca_bundle_pem=ca_pem(ca))
    async with serving_http(expired) as target:
        result = await HttpProbe().run(target.url("/ok"), config, TIMEOUT, context)

    assert result.error_code is ProbeError.CERT_EXPIRED
    assert "expired" in result.reason


async def test_without_verification_an_untrusted_certificate_is_accepted_and_still_recorded(
    ca: trustme.CA, context: ProbeContext
) -> None:
    config = HttpConfig(verify_tls=False)
    async with serving_http(server_context(ca, "other.test")) as target:
        result = await HttpProbe().run(target.url("/ok"), config, TIMEOUT, context)

    assert result.ok, result.reason
    assert result.certificate is not None
    assert result.certificate.san == ("other.test",)
