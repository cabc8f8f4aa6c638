"""The heartbeat ping fast path: `/ping/...` answered beside FastAPI, not through it.

A ping is the busiest request Upwatch gets, and FastAPI's share of it (routing, dependency
solving, parameter validation, its exception middleware) was half of its CPU. This ASGI
middleware answers well-formed `GET|POST|HEAD /ping/<1 to 3 parts>` requests itself, with the
same steps and code as the routes in `routes/pings.py` (the per-IP ping rate limit, then
`record_ping`) and the same error envelope. Anything it does not recognise as well-formed (an
invalid `rid` or `create`, a repeated parameter, another method or shape) goes on to FastAPI,
which answers it exactly as before: validation errors, 404 and 405 stay FastAPI's. The routes
stay registered, so the OpenAPI document still describes the ping URLs.

One trailing slash is dropped from a ping path first (`/ping/<uuid>/`, `/ping/<key>/<slug>/start/`,
as Healthchecks accepts them), for this path and FastAPI's alike: the app answers no slash
redirects (a 307 that `curl -fsS` does not follow was a silently lost ping).
"""

from __future__ import annotations

import re

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from upwatch.api.auth import PING_LIMIT
from upwatch.api.errors import error_response
from upwatch.api.routes.pings import METHODS, RUN_ID_MAX, RUN_ID_PATTERN, ok_response, record_ping
from upwatch.api.state import app_state
from upwatch.core.errors import AppError

PREFIX = "/ping/"
MAX_PARTS = 3
RUN_ID = re.compile(RUN_ID_PATTERN)
# What pydantic reads as a boolean query parameter (`?create=1`).
TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})
FALSE = frozenset({"0", "false", "f", "no", "n", "off"})


class PingFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope = _without_trailing_slash(scope)
        parsed = _recognise(scope)
        if parsed is None:
            await self.app(scope, receive, send)
            return
        parts, rid, create = parsed
        request = Request(scope, receive)
        try:
            await PING_LIMIT(request)
            await record_ping(request, app_state(request), parts, rid, create)
            response = ok_response(request)
        except AppError as exc:
            response = error_response(exc.code, exc.text, exc.fields, exc.headers or None)
        await response(scope, receive, send)


def _without_trailing_slash(scope: Scope) -> Scope:
    path = scope.get("path", "")
    if not (path.startswith(PREFIX) and path.endswith("/") and len(path) > len(PREFIX)):
        return scope
    raw_path: bytes | None = scope.get("raw_path")
    if raw_path is not None and raw_path.endswith(b"/"):
        raw_path = raw_path[:-1]
    return {**scope, "path": path[:-1], "raw_path": raw_path}


def _recognise(scope: Scope) -> tuple[list[str], str | None, bool] | None:
    """(path parts, rid, create) of a well-formed ping, else None."""
    parts = _parts(scope)
    if parts is None:
        return None
    options = _options(QueryParams(scope["query_string"]))
    return None if options is None else (parts, *options)


def _parts(scope: Scope) -> list[str] | None:
    if scope["type"] != "http" or scope["method"] not in METHODS:
        return None
    path: str = scope["path"]
    if not path.startswith(PREFIX):
        return None
    parts = path[len(PREFIX) :].split("/")
    return None if len(parts) > MAX_PARTS or "" in parts else parts


def _options(query: QueryParams) -> tuple[str | None, bool] | None:
    """(rid, create), or None when either is repeated or invalid (FastAPI then says so)."""
    if any(len(query.getlist(name)) > 1 for name in ("rid", "create")):
        return None
    rid = query.get("rid")
    if rid is not None and (len(rid) > RUN_ID_MAX or not RUN_ID.match(rid)):
        return None
    create = query.get("create")
    if create is None:
        return rid, False
    if create.lower() not in TRUE | FALSE:
        return None
    return rid, create.lower() in TRUE
