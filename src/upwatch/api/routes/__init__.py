"""The `/api/v1` routers, one module per resource, and the list the app includes."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter
from fastapi.routing import APIRoute

from upwatch.api.routes import (
    alerts,
    audit,
    channels,
    events,
    groups,
    heartbeat_history,
    heartbeats,
    incidents,
    maintenance,
    me,
    members,
    monitor_results,
    monitors,
    osminog,
    password,
    pings,
    session,
    silences,
    webhooks,
    websites,
)

ROUTERS: tuple[APIRouter, ...] = (
    pings.router,  # first: /ping/... is the busiest path, matched before all the others
    me.router,
    password.router,
    members.router,
    session.router,
    audit.router,
    monitors.router,
    groups.router,
    monitor_results.router,
    events.router,
    websites.router,
    osminog.router,
    heartbeats.router,
    heartbeat_history.router,
    incidents.router,
    channels.router,
    channels.monitor_router,
    alerts.router,
    maintenance.router,
    silences.router,
    webhooks.router,
    pings.token_router,  # after heartbeats: POST /api/v1/heartbeats/{token} is a catch-all
)


def api_routes() -> Iterator[APIRoute]:
    """Every route of the API routers, with its full path."""
    for router in ROUTERS:
        for route in router.routes:
            if isinstance(route, APIRoute):
                yield route
