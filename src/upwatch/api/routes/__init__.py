"""The `/api/v1` routers, one module per resource, and the list the app includes."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter
from fastapi.routing import APIRoute

from upwatch.api.routes import audit, me, members, session

ROUTERS: tuple[APIRouter, ...] = (me.router, members.router, session.router, audit.router)


def api_routes() -> Iterator[APIRoute]:
    """Every route of the API routers, with its full path."""
    for router in ROUTERS:
        for route in router.routes:
            if isinstance(route, APIRoute):
                yield route
