"""What every probe shares: the result value, its error codes, the context, the protocol.

A probe is a pure adapter: a target and a typed config in, a `ProbeResult` out. A failing
target is a result (`ok=False`, a stable `error_code`, a human `reason`), never an
exception; an exception from `run` means a bug in Upwatch.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict

from upwatch.schema import JsonTypes


class ProbeError(StrEnum):
    """Why a check failed. A code's meaning never changes once published."""

    TIMEOUT = "TIMEOUT"
    INVALID_TARGET = "INVALID_TARGET"
    DNS_FAILURE = "DNS_FAILURE"
    CONNECTION_REFUSED = "CONNECTION_REFUSED"
    CONNECTION_FAILED = "CONNECTION_FAILED"
    TLS_ERROR = "TLS_ERROR"
    CERT_EXPIRED = "CERT_EXPIRED"
    CERT_HOSTNAME_MISMATCH = "CERT_HOSTNAME_MISMATCH"
    CERT_UNTRUSTED = "CERT_UNTRUSTED"
    UNEXPECTED_STATUS = "UNEXPECTED_STATUS"
    KEYWORD_MISSING = "KEYWORD_MISSING"
    KEYWORD_PRESENT = "KEYWORD_PRESENT"
    ASSERTION_FAILED = "ASSERTION_FAILED"
    TOO_MANY_REDIRECTS = "TOO_MANY_REDIRECTS"
    PACKET_LOSS = "PACKET_LOSS"
    DNS_MISMATCH = "DNS_MISMATCH"
    EXPECT_MISMATCH = "EXPECT_MISMATCH"
    ADDRESS_NOT_ALLOWED = "ADDRESS_NOT_ALLOWED"
    PING_UNAVAILABLE = "PING_UNAVAILABLE"


@dataclass(frozen=True, slots=True)
class Phases:
    """Where the time went, in milliseconds; None for a phase that did not happen."""

    dns_ms: float | None = None
    connect_ms: float | None = None
    tls_ms: float | None = None
    ttfb_ms: float | None = None
    transfer_ms: float | None = None
    total_ms: float | None = None


@dataclass(frozen=True, slots=True)
class CertificateInfo:
    """The peer certificate; `days_left` counts whole days from the context's `now`."""

    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime
    days_left: int
    serial: str
    fingerprint_sha256: str
    san: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ProbeResult:
    ok: bool
    latency_ms: float | None
    phases: Phases
    error_code: ProbeError | None
    reason: str
    status_code: int | None = None
    certificate: CertificateInfo | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def failure(
        cls,
        code: ProbeError,
        reason: str,
        *,
        phases: Phases | None = None,
        latency_ms: float | None = None,
        status_code: int | None = None,
        certificate: CertificateInfo | None = None,
        details: dict[str, Any] | None = None,
    ) -> ProbeResult:
        return cls(
            ok=False,
            latency_ms=latency_ms,
            phases=phases or Phases(),
            error_code=code,
            reason=reason,
            status_code=status_code,
            certificate=certificate,
            details=details or {},
        )


@dataclass(frozen=True, slots=True)
class ProbeContext:
    """What a check may know of the world: the scheduler's time and the instance's policy.

    `now` serves only to count a certificate's days left; `public_only` turns on the SSRF
    guard (off by default: a self-hosted instance usually watches its own network).
    """

    now: datetime
    public_only: bool = False


class ProbeConfig(JsonTypes):
    """Base of the per-kind configs: unknown fields are errors, values never change.

    `secret_paths` names the fields stored encrypted and never shown by ordinary reads
    (`"headers.*"`: every value of a mapping; `"basic_auth.password"`: one field).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    secret_paths: ClassVar[tuple[str, ...]] = ()


ConfigT_contra = TypeVar("ConfigT_contra", bound=BaseModel, contravariant=True)


class Probe(Protocol[ConfigT_contra]):
    @property
    def kind(self) -> str: ...

    @property
    def config_model(self) -> type[BaseModel]: ...

    def check_target(self, target: str) -> str:
        """The host the target names; ValueError (a readable message) if the target is not
        one this kind can check. Used to validate monitors before they are saved."""
        ...

    async def run(
        self,
        target: str,
        config: ConfigT_contra,
        timeout_seconds: float,
        context: ProbeContext,
    ) -> ProbeResult:
        """Check `target` once, within `timeout_seconds`; never raises for target failures."""
        ...


@dataclass(frozen=True, slots=True)
class TickResult:
    """The summary of one burst of simultaneous checks (`run_concurrently`)."""

    ok: bool
    failed: int
    min_ms: float | None
    avg_ms: float | None
    max_ms: float | None
    results: tuple[ProbeResult, ...]
    error_code: ProbeError | None
    reason: str


async def run_concurrently(
    probe: Probe[ConfigT_contra],
    target: str,
    config: ConfigT_contra,
    timeout_seconds: float,
    context: ProbeContext,
    n: int,
) -> TickResult:
    """Fire `n` checks at once and summarise them: ok only when every one is ok."""
    if n < 1:
        raise ValueError("n must be at least 1")
    results = tuple(
        await asyncio.gather(
            *(probe.run(target, config, timeout_seconds, context) for _ in range(n))
        )
    )
    latencies = [result.latency_ms for result in results if result.latency_ms is not None]
    failures = [result for result in results if not result.ok]
    first = failures[0] if failures else None
    return TickResult(
        ok=not failures,
        failed=len(failures),
        min_ms=min(latencies) if latencies else None,
        avg_ms=sum(latencies) / len(latencies) if latencies else None,
        max_ms=max(latencies) if latencies else None,
        results=results,
        error_code=first.error_code if first else None,
        reason=first.reason if first else f"{n} of {n} checks ok",
    )
