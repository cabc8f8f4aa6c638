"""Authentication and authorization, declared per route.

Every `/api/v1` route declares exactly one of:
- `require("resource:action")`: a token or a dashboard session whose role AND token scopes
  allow the scope; rate-limited per token; daily mutation cap; Idempotency-Key honoured;
- `public`: no credentials; rate-limited per client IP.
A test walks the route table and fails on any route that declares neither.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from upwatch.accounts import repository, tokens, users
from upwatch.api import idempotency
from upwatch.api.deps import MUTATING_METHODS, add_response_headers, client_ip
from upwatch.api.state import AppState, app_state
from upwatch.core.errors import AppError, ErrorCode
from upwatch.core.principal import Principal, Via
from upwatch.db.unit_of_work import unit_of_work

SESSION_COOKIE = "upwatch_session"
CSRF_HEADER = "X-CSRF-Token"
RATE_WINDOW_SECONDS = 60

bearer_scheme = HTTPBearer(auto_error=False, description="A personal access token (uw_...).")
api_key_scheme = APIKeyHeader(
    name="X-Api-Key", auto_error=False, description="The same token, for clients that use it."
)


async def _authenticate(
    request: Request, state: AppState, bearer: str | None, api_key: str | None
) -> Principal:
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    now = state.clock.now()
    credential = bearer or api_key
    async with state.database.session() as session:
        if credential:
            try:
                principal = await tokens.principal_for_token(session, credential.strip(), now)
            except AppError as refused:  # RFC 6750: say which scheme, and that it failed
                refused.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
                raise
        elif cookie := request.cookies.get(SESSION_COOKIE):
            principal, csrf_hash = await users.principal_for_session(session, cookie, now)
            if request.method in MUTATING_METHODS and not users.csrf_matches(
                csrf_hash, request.headers.get(CSRF_HEADER)
            ):
                raise AppError(ErrorCode.CSRF_TOKEN_INVALID)
        else:
            raise AppError(
                ErrorCode.UNAUTHENTICATED,
                "Send a token: Authorization: Bearer <token> or X-Api-Key: <token>.",
                headers={"WWW-Authenticate": "Bearer"},
            )
    if tokens.needs_touch(principal, now):
        assert principal.token_id is not None
        async with unit_of_work(state.database) as session:
            await repository.touch_token(session, principal.token_id, now)
    request.state.principal = principal
    return principal


async def _rate_limit(request: Request, state: AppState, key: str, limit: int) -> None:
    result = await state.limiter.hit(key, limit, RATE_WINDOW_SECONDS)
    headers = result.headers()
    add_response_headers(request, headers)
    if not result.allowed:
        raise AppError(ErrorCode.RATE_LIMITED, headers=headers)


def _seconds_to_midnight(now: datetime) -> int:
    tomorrow = (now.astimezone(UTC) + timedelta(days=1)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    return max(1, int((tomorrow - now).total_seconds()))


async def _daily_cap(request: Request, state: AppState, principal: Principal) -> None:
    """Count this mutation for the token (`mutations_today`), or refuse it (429) when the
    token's daily cap is reached. A refused mutation is not counted."""
    if principal.token_id is None:
        return
    limit = principal.daily_mutation_limit
    now = state.clock.now()
    async with unit_of_work(state.database) as session:
        used = await repository.count_mutation(session, principal.token_id, now.date(), limit)
    if limit is None:
        return
    headers = {
        "X-Quota-Daily-Limit": str(limit),
        "X-Quota-Daily-Remaining": str(limit - used if used is not None else 0),
    }
    add_response_headers(request, headers)
    if used is None:
        headers["Retry-After"] = str(_seconds_to_midnight(now))
        raise AppError(ErrorCode.TOKEN_DAILY_LIMIT_EXCEEDED, headers=headers)


class RequireScope:
    """The dependency behind `require(scope)`; `scope` is read by the route-table test and
    the OpenAPI document (`x-required-scope`)."""

    def __init__(self, scope: str) -> None:
        self.scope = scope

    async def __call__(
        self,
        request: Request,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
        api_key: Annotated[str | None, Security(api_key_scheme)],
    ) -> Principal:
        state = app_state(request)
        principal = await _authenticate(
            request, state, bearer.credentials if bearer else None, api_key
        )
        await _rate_limit(
            request, state, principal.rate_limit_key, state.settings.rate_limit_per_minute
        )
        if not principal.token_grants(self.scope):
            raise AppError(
                ErrorCode.TOKEN_SCOPE_INSUFFICIENT,
                f"This request needs the {self.scope} scope, which the token lacks.",
            )
        if not principal.role_grants(self.scope):
            raise AppError(
                ErrorCode.FORBIDDEN,
                f"Your role ({principal.role}) does not allow {self.scope}.",
            )
        if request.method in MUTATING_METHODS:
            claimed = await idempotency.claim(request, state, principal.rate_limit_key)
            try:
                await _daily_cap(request, state, principal)
            except AppError:
                await idempotency.release_claim(request, state) if claimed else None
                raise
        return principal


class PublicRoute:
    """The dependency behind `public` and `public_ping`: no credentials, a per-IP rate limit
    (its own bucket and setting for heartbeat pings, which come far more often)."""

    def __init__(self, bucket: str, limit_setting: str) -> None:
        self.bucket = bucket
        self.limit_setting = limit_setting

    async def __call__(self, request: Request) -> None:
        state = app_state(request)
        limit: int = getattr(state.settings, self.limit_setting)
        await _rate_limit(request, state, f"{self.bucket}:{client_ip(request)}", limit)


def require(scope: str) -> Any:
    return Depends(RequireScope(scope))


public: Any = Depends(PublicRoute("ip", "public_rate_limit_per_minute"))
PING_LIMIT = PublicRoute("ping", "ping_rate_limit_per_minute")
public_ping: Any = Depends(PING_LIMIT)


def _walk(dependant: Dependant) -> list[object]:
    calls: list[object] = [dependant.call]
    for sub in dependant.dependencies:
        calls.extend(_walk(sub))
    return calls


def required_scope(route: APIRoute) -> str | None:
    """The scope a route requires; None for a public route."""
    for call in _walk(route.dependant):
        if isinstance(call, RequireScope):
            return call.scope
    return None


def is_public(route: APIRoute) -> bool:
    return any(isinstance(call, PublicRoute) for call in _walk(route.dependant))


__all__ = [
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "Principal",
    "Via",
    "public",
    "public_ping",
    "require",
]
