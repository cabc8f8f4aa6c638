"""Request-scoped dependencies shared by the routers: the database session and the actor."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from upwatch.api.state import AppState, app_state
from upwatch.audit.service import Actor
from upwatch.core.principal import Principal
from upwatch.db.unit_of_work import unit_of_work

MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


async def db_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: committed when the endpoint returns, before the response
    is sent (scope="function"), rolled back if it raises."""
    state = app_state(request)
    async with unit_of_work(state.database, write=request.method in MUTATING_METHODS) as session:
        yield session


State = Annotated[AppState, Depends(app_state)]
Session = Annotated[AsyncSession, Depends(db_session, scope="function")]


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
