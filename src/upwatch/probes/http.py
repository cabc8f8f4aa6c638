"""HTTP(S) checks: one request (and its redirects) over fresh connections, then assertions.

Phases are summed over the redirect hops; `total_ms` is the wall time of the whole check and
is also the latency. Only the first `BODY_LIMIT` bytes of a body are read and searched.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any, ClassVar, Literal

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from yarl import URL

from upwatch.net.connect import check_host
from upwatch.net.http import Answer, Exchange, Request, TooManyRedirectsError, fetch
from upwatch.net.tls import check_ca_bundle, client_context
from upwatch.probes.assertions import (
    JsonAssertion,
    StatusPattern,
    check_status_pattern,
    status_matches,
)
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
from upwatch.schema import JsonTypes

BODY_LIMIT = 1024 * 1024
HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


class BasicAuth(JsonTypes):
    model_config = ConfigDict(extra="forbid", frozen=True)

    username: str = Field(min_length=1)
    password: str

    @field_validator("username")
    @classmethod
    def _no_colon(cls, username: str) -> str:
        if ":" in username:
            raise ValueError("must not contain ':' (HTTP Basic auth separates with it)")
        return username

    def header(self) -> str:
        """The Authorization header value (RFC 7617, UTF-8)."""
        pair = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")


def _any_success() -> list[StatusPattern]:
    return ["2xx"]


class HttpConfig(ProbeConfig):
    """An HTTP(S) check of the URL given as target.

    `expected_status` lists codes (200) and classes ("2xx"); the default accepts any 2xx.
    With `follow_redirects` a 3xx is followed, so it is the final status that must match.
    `keyword` must appear in the body and `keyword_absent` must not (case-sensitive).
    """

    secret_paths: ClassVar[tuple[str, ...]] = ("headers.*", "basic_auth.password")

    kind: Literal["http"] = "http"
    method: HttpMethod = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None
    expected_status: list[StatusPattern] = Field(default_factory=_any_success, min_length=1)
    follow_redirects: bool = True
    max_redirects: int = Field(default=5, ge=0, le=30)
    verify_tls: bool = True
    ca_bundle_pem: str | None = None
    keyword: str | None = Field(default=None, min_length=1)
    keyword_absent: str | None = Field(default=None, min_length=1)
    json_assertion: JsonAssertion | None = None
    basic_auth: BasicAuth | None = None
    ip_version: Literal[4, 6] | None = None

    @field_validator("expected_status")
    @classmethod
    def _known_statuses(cls, patterns: list[StatusPattern]) -> list[StatusPattern]:
        return [check_status_pattern(pattern) for pattern in patterns]

    @field_validator("headers")
    @classmethod
    def _valid_headers(cls, headers: dict[str, str]) -> dict[str, str]:
        for name, value in headers.items():
            if not name or any(c in name for c in " \t\r\n:") or not name.isascii():
                raise ValueError(f"{name!r} is not a valid header name")
            if "\r" in value or "\n" in value:
                raise ValueError(f"the value of {name!r} must not contain line breaks")
        return headers

    @model_validator(mode="after")
    def _one_kind_of_authorization(self) -> HttpConfig:
        named = {name.lower() for name in self.headers}
        if self.basic_auth is not None and "authorization" in named:
            raise ValueError("give either basic_auth or an Authorization header, not both")
        return self

    @field_validator("ca_bundle_pem")
    @classmethod
    def _loadable_bundle(cls, pem: str | None) -> str | None:
        return None if pem is None else check_ca_bundle(pem)


class HttpProbe:
    kind: ClassVar[str] = "http"
    config_model: ClassVar[type[BaseModel]] = HttpConfig

    def check_target(self, target: str) -> str:
        """The host a target names (for per-host limits and websites); ValueError if the
        target is not an http:// or https:// URL."""
        url = URL(target.strip())
        if url.scheme not in ("http", "https") or not url.raw_host:
            raise ValueError("must be an http:// or https:// URL")
        return check_host(url.raw_host).lower()

    async def run(
        self, target: str, config: HttpConfig, timeout_seconds: float, context: ProbeContext
    ) -> ProbeResult:
        try:
            request = _request(target, config)
        except ValueError as exc:
            return ProbeResult.failure(ProbeError.INVALID_TARGET, str(exc))
        exchange = Exchange()
        try:
            async with asyncio.timeout(timeout_seconds):
                answer = await fetch(
                    request,
                    exchange,
                    ssl_context=client_context(
                        verify=config.verify_tls, ca_bundle_pem=config.ca_bundle_pem
                    ),
                    public_only=context.public_only,
                    ip_version=config.ip_version,
                    max_redirects=config.max_redirects if config.follow_redirects else None,
                    body_limit=BODY_LIMIT,
                )
        except TimeoutError:
            reason = f"no complete response within {timeout_seconds:g} s"
            return ProbeResult.failure(ProbeError.TIMEOUT, reason, phases=_phases(exchange))
        except TooManyRedirectsError:
            reason = f"more than {config.max_redirects} redirects"
            return ProbeResult.failure(
                ProbeError.TOO_MANY_REDIRECTS, reason, phases=_phases(exchange)
            )
        except (aiohttp.ClientError, OSError) as exc:
            code, reason = _classify(exc, request.url)
            return ProbeResult.failure(code, reason, phases=_phases(exchange))
        return _judge(answer, config, context, exchange)


def _request(target: str, config: HttpConfig) -> Request:
    """The first request of the check; ValueError when the target is not a usable URL."""
    url = URL(target.strip())
    if url.scheme not in ("http", "https") or not url.raw_host:
        raise ValueError(f"{target!r} is not an http:// or https:// URL")
    check_host(url.raw_host)
    if url.user is not None and config.basic_auth is not None:
        raise ValueError("the URL carries credentials and basic_auth is set: keep one")
    headers = dict(config.headers)
    if config.basic_auth is not None:
        headers["Authorization"] = config.basic_auth.header()
    return Request(
        method=config.method,
        url=url,
        data=config.body.encode() if config.body is not None else None,
        headers=headers,
    )


def _phases(exchange: Exchange) -> Phases:
    """Each phase summed over the hops (None when no hop got that far)."""

    def summed(values: list[float | None]) -> float | None:
        present = [value for value in values if value is not None]
        return sum(present) if present else None

    hops = exchange.hops
    return Phases(
        dns_ms=summed([hop.dns_ms for hop in hops]),
        connect_ms=summed([hop.connect_ms for hop in hops]),
        tls_ms=summed([hop.tls_ms for hop in hops]),
        ttfb_ms=summed([hop.ttfb_ms for hop in hops]),
        transfer_ms=summed([hop.transfer_ms for hop in hops]),
        total_ms=(time.perf_counter() - exchange.started) * 1000,
    )


def _classify(error: aiohttp.ClientError | OSError, url: URL) -> tuple[ProbeError, str]:
    if isinstance(error, aiohttp.ClientConnectorError):
        return classify_connection_error(error.os_error, error.host)
    if isinstance(error, aiohttp.InvalidURL):
        return ProbeError.INVALID_TARGET, f"invalid URL: {error}"
    if isinstance(error, OSError):
        return classify_connection_error(error, url.host or str(url))
    return ProbeError.CONNECTION_FAILED, f"{type(error).__name__}: {error}".rstrip(": ")


def _judge(
    answer: Answer, config: HttpConfig, context: ProbeContext, exchange: Exchange
) -> ProbeResult:
    phases = _phases(exchange)
    certificate = _certificate(answer.certificate_der, context)
    details: dict[str, Any] = {
        # Details are stored and shown with every result: never the URL's credentials.
        "url": str(answer.url.with_user(None)),
        "redirects": len(exchange.hops) - 1,
        "body_bytes": len(answer.body),
        "body_truncated": len(answer.body) >= BODY_LIMIT,
    }
    failure = _assertion_failure(answer, config)
    return ProbeResult(
        ok=failure is None,
        latency_ms=phases.total_ms,
        phases=phases,
        error_code=failure[0] if failure else None,
        reason=failure[1] if failure else f"HTTP {answer.status} {answer.status_text}".strip(),
        status_code=answer.status,
        certificate=certificate,
        details=details,
    )


def _certificate(der: bytes | None, context: ProbeContext) -> CertificateInfo | None:
    return certificate_info(der, context.now) if der else None


def _assertion_failure(answer: Answer, config: HttpConfig) -> tuple[ProbeError, str] | None:
    if not status_matches(answer.status, config.expected_status):
        expected = ", ".join(str(pattern) for pattern in config.expected_status)
        status = f"HTTP {answer.status} {answer.status_text}".strip()
        return ProbeError.UNEXPECTED_STATUS, f"{status}, expected {expected}"
    if config.keyword is None and config.keyword_absent is None and not config.json_assertion:
        return None
    text = _decode(answer.body, answer.charset)
    if config.keyword is not None and config.keyword not in text:
        return ProbeError.KEYWORD_MISSING, f"{config.keyword!r} is not in the body"
    if config.keyword_absent is not None and config.keyword_absent in text:
        return ProbeError.KEYWORD_PRESENT, f"{config.keyword_absent!r} is in the body"
    return _json_failure(text, config.json_assertion)


def _json_failure(text: str, assertion: JsonAssertion | None) -> tuple[ProbeError, str] | None:
    if assertion is None:
        return None
    try:
        document = json.loads(text)
    except ValueError:
        return ProbeError.ASSERTION_FAILED, "the body is not JSON"
    reason = assertion.failure(document)
    return None if reason is None else (ProbeError.ASSERTION_FAILED, reason)


def _decode(body: bytes, charset: str | None) -> str:
    try:
        return body.decode(charset or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return body.decode("utf-8", errors="replace")
