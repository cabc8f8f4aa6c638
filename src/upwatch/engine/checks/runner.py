"""Running one check: the probe (or N at once), within the global and per-host limits."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime

from upwatch.engine.checks.snapshot import MonitorSnapshot
from upwatch.engine.ingest.observation import HttpFacts, Observation
from upwatch.logs import get_logger
from upwatch.probes.base import Phases, ProbeContext, ProbeResult, run_concurrently
from upwatch.probes.registry import PROBES
from upwatch.subjects import SubjectKind, SubjectRef

# A probe enforces its own timeout; this margin only catches a probe that fails to.
TIMEOUT_MARGIN_SECONDS = 2.0
log = get_logger("upwatch.engine")


def _observation(
    snapshot: MonitorSnapshot, at: datetime, result: ProbeResult, http: HttpFacts | None
) -> Observation:
    return Observation(
        subject=SubjectRef(SubjectKind.MONITOR, snapshot.id),
        at=at,
        ok=result.ok,
        latency_ms=result.latency_ms,
        error_code=str(result.error_code) if result.error_code else None,
        reason=result.reason,
        phases=result.phases,
        details=result.details,
        http=http,
    )


def _from_result(snapshot: MonitorSnapshot, at: datetime, result: ProbeResult) -> Observation:
    seen_http = result.status_code is not None or result.certificate is not None
    http = HttpFacts(
        status_code=result.status_code,
        certificate=result.certificate,
        failed_requests=0 if result.ok else 1,
    )
    return _observation(snapshot, at, result, http if seen_http else None)


def _failed(snapshot: MonitorSnapshot, at: datetime, code: str, reason: str) -> Observation:
    subject = SubjectRef(SubjectKind.MONITOR, snapshot.id)
    return Observation(subject, at, ok=False, latency_ms=None, error_code=code, reason=reason)


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
    ) -> Observation:
        """What the check saw, and when it started (`Observation.at`). It starts once it holds
        its slots: time spent waiting for the global or the per-host cap is lateness, not
        part of the check.
        Raises ClosedError for a `scheduled` check when the runner was closed meanwhile (an
        on-demand run, which someone waits for, still runs)."""
        async with self._all, self._hosts[snapshot.host]:
            if scheduled and self._closed:
                raise ClosedError
            started = now()
            context = ProbeContext(now=started, public_only=self._public_only)
            try:
                async with asyncio.timeout(snapshot.timeout_seconds + TIMEOUT_MARGIN_SECONDS):
                    return await self._probe(snapshot, context)
            except TimeoutError:
                reason = f"no result within {snapshot.timeout_seconds:g} s"
                return _failed(snapshot, started, "TIMEOUT", reason)
            except Exception as exc:  # a bug in a probe must not stop the engine
                log.exception("engine.probe_crashed", monitor=str(snapshot.public_id))
                return _failed(snapshot, started, "INTERNAL_ERROR", type(exc).__name__)

    async def _probe(self, snapshot: MonitorSnapshot, context: ProbeContext) -> Observation:
        probe = PROBES[snapshot.kind]
        if snapshot.concurrency <= 1:
            result = await probe.run(
                snapshot.target, snapshot.config, snapshot.timeout_seconds, context
            )
            return _from_result(snapshot, context.now, result)
        tick = await run_concurrently(
            probe,
            snapshot.target,
            snapshot.config,
            snapshot.timeout_seconds,
            context,
            snapshot.concurrency,
        )
        first = tick.results[0] if tick.results else None
        http = HttpFacts(
            status_code=first.status_code if first else None,
            certificate=first.certificate if first else None,
            requests=snapshot.concurrency,
            failed_requests=tick.failed,
        )
        summary = ProbeResult(
            ok=tick.ok,
            latency_ms=tick.avg_ms,
            phases=first.phases if first else Phases(),
            error_code=tick.error_code,
            reason=tick.reason,
            details=first.details if first else {},
        )
        return _observation(snapshot, context.now, summary, http)
