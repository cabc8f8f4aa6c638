"""TLS certificate checks: the chain and the name verify, and how long the certificate lasts.

When verification fails because of the certificate itself (expired, wrong name, unknown
issuer), the check connects once more without verifying, only to report the certificate it
was shown: "expired 3 days ago" helps more than "verification failed".
"""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field, field_validator

from upwatch.net.connect import Endpoint, check_host, open_connection, parse_endpoint
from upwatch.net.tls import check_ca_bundle, client_context, peer_certificate
from upwatch.probes.base import (
    CertificateInfo,
    Phases,
    ProbeConfig,
    ProbeContext,
    ProbeError,
    ProbeResult,
)
from upwatch.probes.certificates import certificate_info
from upwatch.probes.failures import classify_connection_error

DEFAULT_PORT = 443
FAMILIES = {4: socket.AF_INET, 6: socket.AF_INET6}
_CERTIFICATE_PROBLEMS = {
    ProbeError.CERT_EXPIRED,
    ProbeError.CERT_HOSTNAME_MISMATCH,
    ProbeError.CERT_UNTRUSTED,
}


class TlsConfig(ProbeConfig):
    """A certificate check of the `host[:port]` given as target (port 443 by default).

    The certificate must verify against the system trust store, or only against the CAs of
    `ca_bundle_pem` when given, for `server_name` (default: the target's host).
    `warn_days` are the thresholds the result's `details["warn_threshold"]` is picked from.
    """

    kind: Literal["tls"] = "tls"
    server_name: str | None = Field(default=None, min_length=1)
    warn_days: list[int] = Field(default_factory=lambda: [30, 14, 7, 3, 1])
    ca_bundle_pem: str | None = None
    ip_version: Literal[4, 6] | None = None

    @field_validator("warn_days")
    @classmethod
    def _positive_days(cls, days: list[int]) -> list[int]:
        if any(not 1 <= day <= 3650 for day in days):
            raise ValueError("each entry must be a number of days between 1 and 3650")
        return sorted(set(days), reverse=True)

    @field_validator("server_name")
    @classmethod
    def _valid_name(cls, name: str | None) -> str | None:
        return None if name is None else check_host(name)

    @field_validator("ca_bundle_pem")
    @classmethod
    def _loadable_bundle(cls, pem: str | None) -> str | None:
        return None if pem is None else check_ca_bundle(pem)


def warn_threshold(days_left: int, warn_days: list[int]) -> int | None:
    """The smallest threshold the certificate has reached (`days_left` <= it), or None."""
    reached = [day for day in warn_days if day >= days_left]
    return min(reached) if reached else None


class TlsProbe:
    kind: ClassVar[str] = "tls"
    config_model: ClassVar[type[BaseModel]] = TlsConfig

    def check_target(self, target: str) -> str:
        """The host of `host[:port]` (443 by default); ValueError otherwise."""
        return parse_endpoint(target, default_port=DEFAULT_PORT).host.lower()

    async def run(
        self, target: str, config: TlsConfig, timeout_seconds: float, context: ProbeContext
    ) -> ProbeResult:
        try:
            endpoint = parse_endpoint(target, default_port=DEFAULT_PORT)
        except ValueError as exc:
            return ProbeResult.failure(ProbeError.INVALID_TARGET, str(exc))
        started = time.perf_counter()
        deadline = asyncio.get_running_loop().time() + timeout_seconds
        try:
            async with asyncio.timeout_at(deadline):
                return await _verified(endpoint, config, context, started)
        except TimeoutError:
            reason = f"no TLS handshake with {target} within {timeout_seconds:g} s"
            return ProbeResult.failure(ProbeError.TIMEOUT, reason, phases=_total(started))
        except OSError as exc:
            code, reason = classify_connection_error(exc, endpoint.host)
            if code not in _CERTIFICATE_PROBLEMS:
                return ProbeResult.failure(code, reason, phases=_total(started))
        # The certificate itself is the problem: show it (within what is left of the time).
        phases = _total(started)
        certificate = await _unverified_certificate(endpoint, config, context, deadline)
        return ProbeResult.failure(
            code,
            reason,
            phases=phases,
            certificate=certificate,
            details=_threshold_details(certificate, config),
        )


def _total(started: float, **phases: float | None) -> Phases:
    return Phases(total_ms=(time.perf_counter() - started) * 1000, **phases)


def _threshold_details(certificate: CertificateInfo | None, config: TlsConfig) -> dict[str, Any]:
    if certificate is None:
        return {}
    return {"warn_threshold": warn_threshold(certificate.days_left, config.warn_days)}


async def _verified(
    endpoint: Endpoint, config: TlsConfig, context: ProbeContext, started: float
) -> ProbeResult:
    connection = await open_connection(
        endpoint,
        public_only=context.public_only,
        family=FAMILIES.get(config.ip_version or 0, 0),
        ssl_context=client_context(ca_bundle_pem=config.ca_bundle_pem),
        server_hostname=config.server_name,
    )
    phases = _total(
        started,
        dns_ms=connection.dns_ms,
        connect_ms=connection.connect_ms,
        tls_ms=connection.tls_ms,
    )
    try:
        ssl_object = connection.writer.get_extra_info("ssl_object")
        der = peer_certificate(ssl_object)
        cipher = ssl_object.cipher() if ssl_object else None
        details: dict[str, Any] = {
            "address": connection.address,
            "tls_version": ssl_object.version() if ssl_object else None,
            "cipher": cipher[0] if cipher else None,
        }
    finally:
        await connection.close()
    if der is None:
        return ProbeResult.failure(ProbeError.TLS_ERROR, "the server sent no certificate")
    return _judge(certificate_info(der, context.now), config, context, phases, details)


def _judge(
    certificate: CertificateInfo,
    config: TlsConfig,
    context: ProbeContext,
    phases: Phases,
    details: dict[str, Any],
) -> ProbeResult:
    details |= _threshold_details(certificate, config)
    if certificate.not_after <= context.now:
        # Verified by the machine's clock, yet expired by the scheduler's: trust the scheduler.
        reason = f"certificate expired on {certificate.not_after:%Y-%m-%d %H:%M} UTC"
        return ProbeResult.failure(
            ProbeError.CERT_EXPIRED,
            reason,
            phases=phases,
            certificate=certificate,
            details=details,
        )
    return ProbeResult(
        ok=True,
        latency_ms=phases.total_ms,
        phases=phases,
        error_code=None,
        reason=f"certificate valid for {certificate.days_left} more days",
        certificate=certificate,
        details=details,
    )


async def _unverified_certificate(
    endpoint: Endpoint, config: TlsConfig, context: ProbeContext, deadline: float
) -> CertificateInfo | None:
    """The certificate the server shows, read without verifying it; None if that fails too."""
    try:
        async with asyncio.timeout_at(deadline):
            connection = await open_connection(
                endpoint,
                public_only=context.public_only,
                family=FAMILIES.get(config.ip_version or 0, 0),
                ssl_context=client_context(verify=False),
                server_hostname=config.server_name,
            )
            der = peer_certificate(connection.writer.get_extra_info("ssl_object"))
            await connection.close()
    except (TimeoutError, OSError):
        return None
    return certificate_info(der, context.now) if der else None
