"""What every route refuses before its own code runs (docs/api.md, "Errors"):

- a query parameter the route does not declare: a client that sends `?from=` to a list that
  has no such filter would otherwise believe it filtered;
- a request body that is not JSON sent as JSON (`Content-Type: application/json`);
- text that no database stores: NUL characters, which PostgreSQL refuses in `text`, and lone
  UTF-16 surrogates (`"\\ud800"`), which are not Unicode at all. They are refused wherever
  they are, in the body, the query or the path, with the field named, instead of failing in
  the database as a 500;
- a method a path does not have, where a template route would otherwise take it (`PUT
  /heartbeats/ping-key` is not a PUT of the heartbeat `ping-key`): 405 with `Allow`.

One route-level dependency, added to every router the app includes, so no route can forget.
"""

from __future__ import annotations

import email.message
from collections.abc import Iterator
from http import HTTPStatus
from typing import Any

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection

from upwatch.api.auth import PING_LIMIT
from upwatch.api.errors import literal_paths
from upwatch.core.errors import AppError, ErrorCode, FieldError

UNSTORABLE_MESSAGE = "must not contain NUL characters or unpaired surrogates"


async def strict_request(connection: HTTPConnection) -> None:
    route = connection.scope.get("route")
    if not isinstance(connection, Request) or not isinstance(route, APIRoute):
        return  # a WebSocket: it has its own handshake rules (routes/events.py)
    request = connection
    if route.param_convertors and request.url.path in literal_paths(request.app):
        raise HTTPException(HTTPStatus.METHOD_NOT_ALLOWED)
    problems = [*_unknown_query_parameters(request, route), *_unstorable_parameters(request)]
    if problems:
        raise AppError(ErrorCode.VALIDATION_FAILED, fields=problems)
    if route.body_field is not None and await request.body():
        _require_json_content_type(request)
        await _refuse_unstorable_body(request)


async def _refuse_unstorable_body(request: Request) -> None:
    body = await request.json()  # already decoded by FastAPI: this reads its cache
    problems = [
        FieldError(path, "invalid_character", UNSTORABLE_MESSAGE)
        for path in sorted(_unstorable_paths(body))
    ]
    if problems:
        raise AppError(ErrorCode.VALIDATION_FAILED, fields=problems)


def declared_query_parameters(route: APIRoute) -> frozenset[str]:
    """The names a client may send, aliases included (`?from=`), dependencies' too."""
    names: set[str] = set()
    pending: list[Dependant] = [route.dependant]
    while pending:
        dependant = pending.pop()
        names.update(param.alias for param in dependant.query_params)
        pending.extend(dependant.dependencies)
    return frozenset(names)


def _unknown_query_parameters(request: Request, route: APIRoute) -> list[FieldError]:
    if _is_ping(route):
        # Ping URLs live in crontabs and monitoring scripts, which add parameters of their own
        # (cache busters, tags); Healthchecks ignores them, and refusing would lose the ping.
        return []
    declared = declared_query_parameters(route)
    unknown = sorted({name for name in request.query_params if name not in declared})
    accepted = ", ".join(sorted(declared)) or "none"
    return [
        FieldError(
            name, "unknown_field", f"unknown query parameter (this route accepts: {accepted})"
        )
        for name in unknown
    ]


def _is_ping(route: APIRoute) -> bool:
    return any(dependency.dependency is PING_LIMIT for dependency in route.dependencies)


def _unstorable_parameters(request: Request) -> list[FieldError]:
    values = [*request.query_params.multi_items(), *request.path_params.items()]
    return [
        FieldError(name, "invalid_character", UNSTORABLE_MESSAGE)
        for name, value in values
        if isinstance(value, str) and not storable(value)
    ]


def _require_json_content_type(request: Request) -> None:
    message = email.message.Message()
    message["content-type"] = request.headers.get("content-type", "")
    subtype = message.get_content_subtype()
    is_json = message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )
    if not is_json:
        raise AppError(
            ErrorCode.INVALID_JSON,
            "The request body must be JSON: send Content-Type: application/json.",
        )


def storable(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # an unpaired surrogate
        return False
    return True


def _unstorable_paths(body: Any) -> Iterator[str]:
    """The paths (`config.headers.X-Token`, `tags[2]`) of every string, key or value, that
    the database could not store. A loop, not recursion: the body may nest as deep as the
    JSON decoder allowed."""
    pending: list[tuple[str, Any]] = [("", body)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, str):
            if not storable(value):
                yield path or "body"
        elif isinstance(value, dict):
            for key, item in value.items():
                inner = f"{path}.{_printable(key)}" if path else _printable(key)
                if not storable(key):
                    yield inner
                pending.append((inner, item))
        elif isinstance(value, list):
            pending.extend((f"{path}[{index}]", item) for index, item in enumerate(value))


def _printable(key: str) -> str:
    """A key as an error may quote it: the offending characters escaped (`\\x00`)."""
    return key if storable(key) else key.encode("ascii", "backslashreplace").decode()
