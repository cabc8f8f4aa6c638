"""Liveness, readiness and metrics: the operator's view of a running process."""

from __future__ import annotations

import asyncio
import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from upwatch.accounts import repository
from upwatch.api.errors import RETRY_AFTER_SECONDS, error_body
from upwatch.api.state import AppState, current_state
from upwatch.core.errors import AppError, ErrorCode
from upwatch.logs import get_logger

READY_TIMEOUT_SECONDS = 2.0

router = APIRouter(tags=["health"])
log = get_logger("upwatch.health")
State = Annotated[AppState, Depends(current_state)]


@router.get("/health/live", summary="The process is up")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/health/ready",
    summary="The process can serve: its database (and Redis, when configured) answer",
    responses={503: {"description": "A dependency is unavailable; `checks` names it"}},
)
async def ready(state: State) -> JSONResponse:
    checks = {"database": await _check_database(state)}
    if state.redis is not None:
        checks["redis"] = await _check_redis(state)
    failing = sorted(name for name, result in checks.items() if result != "ok")
    if not failing:
        return JSONResponse({"status": "ok", "checks": checks})
    body = error_body(ErrorCode.SERVICE_UNAVAILABLE, f"Unavailable: {', '.join(failing)}.")
    body["checks"] = checks
    return JSONResponse(body, status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


async def _check_database(state: AppState) -> str:
    try:
        await state.database.ping(READY_TIMEOUT_SECONDS)
    except Exception as exc:  # any failure means "not ready"; the detail goes to the log only
        log.warning("ready.database_unavailable", error=repr(exc))
        return "unavailable"
    return "ok"


async def _check_redis(state: AppState) -> str:
    assert state.redis is not None
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            await state.redis.ping()
    except Exception as exc:  # as above
        log.warning("ready.redis_unavailable", error=repr(exc))
        return "unavailable"
    return "ok"


def _authorize_scrape(request: Request, state: State) -> None:
    """The scrape token, unless the operator made the metrics public (they name every
    monitor of every organization, so they are not public by default)."""
    token = state.settings.metrics_token
    if token is None and state.settings.metrics_public:
        return
    if token is None:
        raise AppError(
            ErrorCode.UNAUTHENTICATED,
            "Metrics need a scrape token: set UPWATCH_METRICS_TOKEN and send it as "
            "Authorization: Bearer <token>, or set UPWATCH_METRICS_PUBLIC=true.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    supplied = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(supplied.encode(), token.get_secret_value().encode()):
        raise AppError(
            ErrorCode.UNAUTHENTICATED,
            "A valid metrics token is required.",
            headers={"WWW-Authenticate": "Bearer"},
        )


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={401: {"description": "A scrape token is needed (UNAUTHENTICATED)"}},
)
async def metrics(request: Request, state: State) -> Response:
    _authorize_scrape(request, state)
    async with state.database.session() as session:
        state.engine.organization_labels.update(await repository.organization_public_ids(session))
    payload, content_type = state.metrics.render()
    return Response(payload, media_type=content_type)
