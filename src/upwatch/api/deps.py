"""Request-scoped dependencies shared by the routers: the unit of work (and its session) and
the actor."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from upwatch.api.state import AppState, app_state, current_state
from upwatch.audit.service import Actor
from upwatch.core.principal import Principal
from upwatch.db.unit_of_work import AfterCommit, Outlets, UnitOfWork, open_unit_of_work
from upwatch.notify import subscriptions

MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
UNIT_OF_WORK = "unit_of_work"


def outlets(state: AppState) -> Outlets:
    """Where the events of a change go: its webhook subscriptions' outbox rows, in the
    change's transaction, then the app's event bus."""
    return Outlets(stage=subscriptions.enqueue, bus=state.bus)


@asynccontextmanager
async def _opened(request: Request, *, write: bool) -> AsyncIterator[UnitOfWork]:
    state = app_state(request)
    async with open_unit_of_work(state.database, outlets(state), write=write) as work:
        request.scope.setdefault("state", {})[UNIT_OF_WORK] = work
        yield work


async def request_work(request: Request) -> AsyncIterator[UnitOfWork]:
    """The request's unit of work: committed when the endpoint returns, before the response
    is sent (scope="function"), rolled back if it raises. Then its events are published and
    its after-commit actions run (telling the engine about changed monitors, say)."""
    async with _opened(request, write=request.method in MUTATING_METHODS) as work:
        yield work


async def write_request_work(request: Request) -> AsyncIterator[UnitOfWork]:
    """A writing unit of work for a GET that records something (an audited secret read)."""
    async with _opened(request, write=True) as work:
        yield work


Work = Annotated[UnitOfWork, Depends(request_work, scope="function")]
WriteWork = Annotated[UnitOfWork, Depends(write_request_work, scope="function")]


async def db_session(work: Work) -> AsyncSession:
    """The session of the request's unit of work, for endpoints that only read and write rows."""
    return work.session


async def write_db_session(work: WriteWork) -> AsyncSession:
    return work.session


def after_commit(request: Request, action: AfterCommit) -> None:
    """Run `action` once the request's changes are committed (never if they roll back). The
    endpoint must take the request's unit of work (`Session`, `Work`, or their write forms)."""
    work: UnitOfWork | None = request.scope.get("state", {}).get(UNIT_OF_WORK)
    if work is None:
        raise LookupError("after_commit needs the request's unit of work (a Session dependency)")
    work.after_commit(action)


State = Annotated[AppState, Depends(current_state)]
Session = Annotated[AsyncSession, Depends(db_session)]
WriteSession = Annotated[AsyncSession, Depends(write_db_session)]


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
