"""The one input of result ingest: what was observed of a subject, where, and when.

Local checks make Observations today (engine/checks/runner.py); remote probes will send the
same value from their region. Fields every kind has are top-level; what only request-shaped
checks see (a status code, a peer certificate, a tick of several requests) is the optional
`http` part, so a DNS or a database probe carries nothing it cannot fill.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from upwatch.probes.base import CertificateInfo, Phases
from upwatch.subjects import SubjectRef

NO_DETAILS: Mapping[str, Any] = MappingProxyType({})


def _no_details() -> Mapping[str, Any]:
    return NO_DETAILS  # shared and read-only: no dict made per observation


class OriginKind(StrEnum):
    LOCAL = "local"  # this instance's own engine
    PROBE = "probe"  # a remote probe (not yet): `region` says which


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a check was made from. A remote probe adds its region id, not a new shape."""

    kind: OriginKind = OriginKind.LOCAL
    region: str | None = None


LOCAL = Origin()


@dataclass(frozen=True, slots=True)
class HttpFacts:
    """What request-shaped checks (HTTP, TLS, ticks of concurrent requests) also saw."""

    status_code: int | None = None
    certificate: CertificateInfo | None = None
    requests: int = 1
    failed_requests: int = 0


@dataclass(frozen=True, slots=True)
class Observation:
    """One tick's outcome for one subject, whatever the number of requests in it.

    `ok` with `error_code` is the status (None when ok); `at` is when the check started;
    `details` is what the probe saw (JSON values; stored capped, see ingest/details.py)."""

    subject: SubjectRef
    at: datetime
    ok: bool
    latency_ms: float | None
    error_code: str | None
    reason: str
    phases: Phases = field(default_factory=Phases)
    details: Mapping[str, Any] = field(default_factory=_no_details)
    http: HttpFacts | None = None
    origin: Origin = LOCAL

    @property
    def status_code(self) -> int | None:
        return None if self.http is None else self.http.status_code

    @property
    def certificate(self) -> CertificateInfo | None:
        return None if self.http is None else self.http.certificate

    @property
    def requests(self) -> int:
        return 1 if self.http is None else self.http.requests

    @property
    def failed_requests(self) -> int:
        if self.http is None:
            return 0 if self.ok else 1
        return self.http.failed_requests
