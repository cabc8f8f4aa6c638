"""Request-scoped dependencies shared by the routers: the database session and the actor."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from upwatch.api.state import AppState, app_state, current_state
from upwatch.audit.service import Actor
from upwatch.core.principal import Principal
from upwatch.db.unit_of_work import unit_of_work

MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
AFTER_COMMIT = "after_commit"


async def db_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: committed when the endpoint returns, before the response
    is sent (scope="function"), rolled back if it raises. Then the work registered with
    `after_commit` runs (telling the engine about changed monitors, say)."""
    state = app_state(request)
    async with unit_of_work(state.database, write=request.method in MUTATING_METHODS) as session:
        yield session
    for action in request.scope.get("state", {}).pop(AFTER_COMMIT, []):
        await action()


async def write_db_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A writing unit of work for a GET that records something (an audited secret read)."""
    state = app_state(request)
    async with unit_of_work(state.database, write=True) as session:
        yield session


def after_commit(request: Request, action: Callable[[], Awaitable[None]]) -> None:
    """Run `action` once the request's changes are committed (never if they roll back)."""
    request.scope.setdefault("state", {}).setdefault(AFTER_COMMIT, []).append(action)


State = Annotated[AppState, Depends(current_state)]
Session = Annotated[AsyncSession, Depends(db_session, scope="function")]
WriteSession = Annotated[AsyncSession, Depends(write_db_session, scope="function")]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def where_from(request: Request) -> dict[str, str | None]:
    return {
        "client_ip": client_ip(request),
        "user_agent": (request.headers.get("user-agent") or "")[:512] or None,
        "request_id": request.scope.get("state", {}).get("request_id"),
    }


def actor_for(request: Request, principal: Principal) -> Actor:
    return Actor.for_principal(principal, **where_from(request))


def add_response_headers(request: Request, headers: dict[str, str]) -> None:
    """Headers for whatever response this request ends with, errors included (the request
    context middleware adds them)."""
    request.scope.setdefault("state", {}).setdefault("extra_headers", {}).update(headers)
