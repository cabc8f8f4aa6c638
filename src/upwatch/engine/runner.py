"""Running one check: the probe (or N at once), within the global and per-host limits."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from upwatch.engine.snapshot import MonitorSnapshot
from upwatch.logs import get_logger
from upwatch.probes.base import (
    CertificateInfo,
    Phases,
    ProbeContext,
    ProbeResult,
    run_concurrently,
)
from upwatch.probes.registry import PROBES

# A probe enforces its own timeout; this margin only catches a probe that fails to.
TIMEOUT_MARGIN_SECONDS = 2.0
log = get_logger("upwatch.engine")


@dataclass(frozen=True, slots=True)
class Observation:
    """One tick's outcome, whatever the number of requests in it."""

    ok: bool
    latency_ms: float | None
    status_code: int | None
    error_code: str | None
    reason: str
    phases: Phases = field(default_factory=Phases)
    requests: int = 1
    failed_requests: int = 0
    certificate: CertificateInfo | None = None


def _from_result(result: ProbeResult) -> Observation:
    return Observation(
        ok=result.ok,
        latency_ms=result.latency_ms,
        status_code=result.status_code,
        error_code=str(result.error_code) if result.error_code else None,
        reason=result.reason,
        phases=result.phases,
        failed_requests=0 if result.ok else 1,
        certificate=result.certificate,
    )


class ClosedError(Exception):
    """The runner is closing: a scheduled check that had not started will not."""


class Runner:
    def __init__(self, *, max_concurrency: int, per_host: int, public_only: bool) -> None:
        self._closed = False
        self._all = asyncio.Semaphore(max_concurrency)
        self._per_host_limit = per_host
        self._hosts: dict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(self._per_host_limit)
        )
        self._public_only = public_only

    def close(self) -> None:
        """Start no more scheduled checks: at a stop, the checks queued behind the caps
        would otherwise start during the drain, and be cut off or go unwritten."""
        self._closed = True

    async def check(
        self, snapshot: MonitorSnapshot, now: Callable[[], datetime], *, scheduled: bool = False
    ) -> tuple[datetime, Observation]:
        """When the check started and what it saw. It starts once it holds its slots: time
        spent waiting for the global or the per-host cap is lateness, not part of the check.
        Raises ClosedError for a `scheduled` check when the runner was closed meanwhile (an
        on-demand run, which someone waits for, still runs)."""
        async with self._all, self._hosts[snapshot.host]:
            if scheduled and self._closed:
                raise ClosedError
            started = now()
            context = ProbeContext(now=started, public_only=self._public_only)
            try:
                async with asyncio.timeout(snapshot.timeout_seconds + TIMEOUT_MARGIN_SECONDS):
                    return started, await self._probe(snapshot, context)
            except TimeoutError:
                reason = f"no result within {snapshot.timeout_seconds:g} s"
                return started, Observation(False, None, None, "TIMEOUT", reason)
            except Exception as exc:  # a bug in a probe must not stop the engine
                log.exception("engine.probe_crashed", monitor=str(snapshot.public_id))
                return started, Observation(False, None, None, "INTERNAL_ERROR", type(exc).__name__)

    async def _probe(self, snapshot: MonitorSnapshot, context: ProbeContext) -> Observation:
        probe = PROBES[snapshot.kind]
        if snapshot.concurrency <= 1:
            result = await probe.run(
                snapshot.target, snapshot.config, snapshot.timeout_seconds, context
            )
            return _from_result(result)
        tick = await run_concurrently(
            probe,
            snapshot.target,
            snapshot.config,
            snapshot.timeout_seconds,
            context,
            snapshot.concurrency,
        )
        first = tick.results[0] if tick.results else None
        return Observation(
            ok=tick.ok,
            latency_ms=tick.avg_ms,
            status_code=first.status_code if first else None,
            error_code=str(tick.error_code) if tick.error_code else None,
            reason=tick.reason,
            phases=first.phases if first else Phases(),
            requests=snapshot.concurrency,
            failed_requests=tick.failed,
            certificate=first.certificate if first else None,
        )
