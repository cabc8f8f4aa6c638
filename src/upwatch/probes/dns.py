"""DNS checks (dnspython): a name resolves, and its records hold the expected values.

Values compare case-insensitively, with trailing dots ignored, so `Mail.Example.com` matches
the MX record `10 mail.example.com.`. An MX or SRV record also matches its bare host name,
and a TXT record its text without quotes.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, ClassVar, Literal

import dns.asyncresolver
import dns.exception
import dns.name
import dns.nameserver
import dns.rdata
import dns.resolver
import dns.reversename
from pydantic import BaseModel, Field, field_validator

from upwatch.net.connect import parse_endpoint
from upwatch.net.guard import AddressNotAllowedError, allowed_addresses, is_ip_literal
from upwatch.probes.base import Phases, ProbeConfig, ProbeContext, ProbeError, ProbeResult

DNS_PORT = 53
RecordType = Literal["A", "AAAA", "CNAME", "MX", "TXT", "NS", "SOA", "SRV", "CAA", "PTR"]


def parse_nameserver(text: str) -> tuple[str, int]:
    """`ip`, `ip:port`, `[ipv6]:port` → (ip, port); ValueError for anything else."""
    text = text.strip()
    endpoint = (text, DNS_PORT) if is_ip_literal(text) else None
    if endpoint is None:
        parsed = parse_endpoint(text, default_port=DNS_PORT)
        if not is_ip_literal(parsed.host):
            raise ValueError(f"{text!r} is not an IP address, optionally with :port")
        endpoint = (parsed.host, parsed.port)
    return endpoint


class DnsConfig(ProbeConfig):
    """A DNS check of the name given as target (for PTR, an IP address works too).

    `resolver` is the nameserver to ask (`ip[:port]`), else the system's. Every value of
    `expected` must be among the answers.
    """

    kind: Literal["dns"] = "dns"
    record_type: RecordType = "A"
    resolver: str | None = None
    expected: list[str] = Field(default_factory=list)

    @field_validator("resolver")
    @classmethod
    def _nameserver_address(cls, resolver: str | None) -> str | None:
        if resolver is not None:
            parse_nameserver(resolver)
        return resolver

    @field_validator("expected")
    @classmethod
    def _no_blank_values(cls, values: list[str]) -> list[str]:
        if any(not value.strip() for value in values):
            raise ValueError("expected values must not be blank")
        return values


def normalize(value: str) -> str:
    return " ".join(token.rstrip(".") for token in value.lower().split())


def _forms(record: dns.rdata.Rdata) -> tuple[str, set[str]]:
    """How a record is shown, and every text an expected value may match it by."""
    shown = record.to_text()
    forms = {normalize(shown)}
    strings = getattr(record, "strings", None)  # TXT
    if strings is not None:
        shown = b"".join(strings).decode("utf-8", errors="replace")
        forms.add(normalize(shown))
    for attribute in ("exchange", "target"):  # MX, SRV
        host = getattr(record, attribute, None)
        if isinstance(host, dns.name.Name):
            forms.add(normalize(host.to_text()))
    return shown, forms


class DnsProbe:
    kind: ClassVar[str] = "dns"
    config_model: ClassVar[type[BaseModel]] = DnsConfig

    def check_target(self, target: str) -> str:
        """The name to look up; ValueError if it is not one."""
        try:
            _query_name(target, "A")
        except dns.exception.DNSException as exc:  # a label over 63 characters, say
            raise ValueError(f"not a DNS name: {exc}") from None
        return target.strip().lower().rstrip(".")

    async def run(
        self, target: str, config: DnsConfig, timeout_seconds: float, context: ProbeContext
    ) -> ProbeResult:
        try:
            name = _query_name(target, config.record_type)
        except (ValueError, dns.exception.DNSException) as exc:
            return ProbeResult.failure(ProbeError.INVALID_TARGET, f"{target!r}: {exc}")
        started = time.perf_counter()
        try:
            resolver = _resolver(config, context)
            async with asyncio.timeout(timeout_seconds):
                answer = await resolver.resolve(
                    name, config.record_type, lifetime=timeout_seconds, search=False
                )
        except AddressNotAllowedError as exc:
            return ProbeResult.failure(ProbeError.ADDRESS_NOT_ALLOWED, str(exc))
        except (TimeoutError, dns.exception.Timeout):
            reason = f"no DNS answer within {timeout_seconds:g} s"
            return ProbeResult.failure(ProbeError.TIMEOUT, reason, phases=_total(started))
        except dns.exception.DNSException as exc:
            reason = _lookup_failure(exc, target, config.record_type)
            return ProbeResult.failure(ProbeError.DNS_FAILURE, reason, phases=_total(started))
        return _judge(answer, config, _total(started))


def _query_name(target: str, record_type: str) -> dns.name.Name:
    text = target.strip()
    if not text:
        raise ValueError("the target has no name")
    if record_type == "PTR" and is_ip_literal(text):
        return dns.reversename.from_address(text)
    return dns.name.from_text(text)


def _resolver(config: DnsConfig, context: ProbeContext) -> dns.asyncresolver.Resolver:
    """The configured nameserver (past the SSRF guard), or the system's."""
    if config.resolver is None:
        return dns.asyncresolver.Resolver()
    address, port = parse_nameserver(config.resolver)
    allowed_addresses(address, [address], public_only=context.public_only)
    resolver = dns.asyncresolver.Resolver(configure=False)
    resolver.nameservers = [dns.nameserver.Do53Nameserver(address, port)]
    return resolver


def _lookup_failure(error: dns.exception.DNSException, target: str, record_type: str) -> str:
    if isinstance(error, dns.resolver.NXDOMAIN):
        return f"{target} does not exist (NXDOMAIN)"
    if isinstance(error, dns.resolver.NoAnswer):
        return f"{target} has no {record_type} record"
    if isinstance(error, dns.resolver.NoNameservers):
        return f"no nameserver could answer for {target}: {error}"
    return f"DNS lookup of {target} failed: {error}"


def _total(started: float) -> Phases:
    elapsed = (time.perf_counter() - started) * 1000
    return Phases(dns_ms=elapsed, total_ms=elapsed)


def _judge(answer: dns.resolver.Answer, config: DnsConfig, phases: Phases) -> ProbeResult:
    shown: list[str] = []
    forms: set[str] = set()
    for record in answer:
        text, matches = _forms(record)
        shown.append(text)
        forms |= matches
    shown.sort()  # an RRset has no order; a sorted list reads and compares better
    details: dict[str, Any] = {
        "answers": shown,
        "ttl": answer.rrset.ttl if answer.rrset is not None else None,
        "nameserver": str(answer.nameserver),
    }
    missing = [value for value in config.expected if normalize(value) not in forms]
    if missing:
        reason = f"{', '.join(missing)} not among the answers ({', '.join(shown)})"
        return ProbeResult.failure(
            ProbeError.DNS_MISMATCH,
            reason,
            phases=phases,
            latency_ms=phases.total_ms,
            details=details,
        )
    return ProbeResult(
        ok=True,
        latency_ms=phases.total_ms,
        phases=phases,
        error_code=None,
        reason=f"{len(shown)} {config.record_type} record(s): {', '.join(shown)}",
        details=details,
    )
