"""Every non-2xx answer in one envelope: `{"error", "code", "fields"?}` (see docs/api.md)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Match

from upwatch.core.errors import CATALOG, AppError, ErrorCode, FieldError, code_for_status
from upwatch.probes.registry import PROBES
from upwatch.schema import Refused

UNION_TAGS = frozenset(PROBES)
# What a 503 asks clients to wait before trying again: a database restart or failover takes
# seconds, and a shorter hint would only bring the retries while it is still away.
RETRY_AFTER_SECONDS = 5

# pydantic error types → the short, stable field codes clients can switch on.
FIELD_CODES = {
    "missing": "required",
    "extra_forbidden": "unknown_field",
    "greater_than": "too_small",
    "greater_than_equal": "too_small",
    "less_than": "too_large",
    "less_than_equal": "too_large",
    "string_too_short": "too_short",
    "string_too_long": "too_long",
    "too_short": "too_short",
    "too_long": "too_long",
    "literal_error": "invalid_choice",
    "enum": "invalid_choice",
    "url_parsing": "invalid_url",
    "url_scheme": "invalid_url",
    "uuid_parsing": "invalid_uuid",
    "value_error": "invalid",
}


def error_body(code: ErrorCode, message: str, fields: Sequence[FieldError] = ()) -> dict[str, Any]:
    body: dict[str, Any] = {"error": message, "code": str(code)}
    if code is ErrorCode.VALIDATION_FAILED or fields:  # other codes may name a field too
        body["fields"] = [
            {"path": item.path, "code": item.code, "message": item.message} for item in fields
        ]
    return body


def error_response(
    code: ErrorCode,
    message: str | None = None,
    fields: Sequence[FieldError] = (),
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    info = CATALOG[code]
    if code is ErrorCode.SERVICE_UNAVAILABLE:
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS), **(headers or {})}
    return JSONResponse(
        error_body(code, message or info.message, fields),
        status_code=int(info.status),
        headers=headers,
    )


def field_path(location: Sequence[int | str]) -> str:
    """`("body", "config", "headers", 0, "name")` → `config.headers[0].name`."""
    parts = list(location)
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:]
    # pydantic names the branch of a tagged union (`config.http.verbose`); clients know
    # the field as `config.verbose`.
    parts = [part for part in parts if not (isinstance(part, str) and part in UNION_TAGS)]
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "body"


def field_errors(errors: Sequence[Any]) -> list[FieldError]:
    return [
        FieldError(
            path=field_path(error.get("loc", ())),
            code=_field_code(str(error.get("type", ""))),
            message=_field_message(error),
        )
        for error in errors
    ]


def _field_code(error_type: str) -> str:
    if error_type in FIELD_CODES:
        return FIELD_CODES[error_type]
    if error_type.endswith(("_type", "_parsing")):
        return "invalid_type"
    return "invalid"


def _field_message(error: Any) -> str:
    message = str(error.get("msg", "is invalid"))
    if error.get("type") == "extra_forbidden":
        return "unknown field"
    if isinstance(error.get("input"), Refused):  # sent as another JSON type (schema.py)
        return str(error["input"].message)
    return message.removeprefix("Value error, ")


async def _on_app_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return error_response(exc.code, exc.text, exc.fields, exc.headers or None)


async def _on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    for error in exc.errors():
        if error.get("type") == "json_invalid" and error.get("loc", ())[:1] == ("body",):
            # The body did not decode (FastAPI names the offset): no field to blame.
            detail = error.get("ctx", {}).get("error", "")
            return error_response(ErrorCode.INVALID_JSON, _invalid_json_message(str(detail)))
    return error_response(ErrorCode.VALIDATION_FAILED, fields=field_errors(exc.errors()))


def _invalid_json_message(detail: str) -> str:
    return (
        f"The request body is not valid JSON: {detail}."
        if detail
        else CATALOG[ErrorCode.INVALID_JSON].message
    )


def _undecodable_body(exc: HTTPException) -> str | None:
    """Why FastAPI could not decode a JSON body (it answers a bare 400 for these), or None."""
    cause = exc.__cause__
    if exc.status_code != HTTPStatus.BAD_REQUEST or cause is None:
        return None
    if isinstance(cause, UnicodeDecodeError):
        return "The request body is not valid UTF-8."
    if isinstance(cause, RecursionError):
        return "The request body nests too deeply."
    if isinstance(cause, ValueError):
        return _invalid_json_message(str(cause))
    return None


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    undecodable = _undecodable_body(exc)
    if undecodable is not None:
        return error_response(ErrorCode.INVALID_JSON, undecodable)
    code = code_for_status(exc.status_code)
    detail: str | None = exc.detail if isinstance(exc.detail, str) else None
    if detail is None or detail == _reason_phrase(exc.status_code):
        # The framework's bare reason phrase ("Not Found") says less than ours.
        detail = None
        if code is ErrorCode.NOT_FOUND:
            detail = f"No endpoint matches {request.method} {request.url.path}."
    headers = dict(exc.headers or {})
    if exc.status_code == HTTPStatus.METHOD_NOT_ALLOWED:
        headers["Allow"] = ", ".join(_allowed_methods(request))
    response = error_response(code, detail, headers=headers or None)
    response.status_code = exc.status_code
    return response


def _allowed_methods(request: Request) -> list[str]:
    """Every method any route accepts on this path (the router only names the first route's).
    A path that a route names literally (`/heartbeats/ping-key`) is that route's alone, even
    if a template (`/heartbeats/{heartbeat_id}`) matches it too."""
    matching = [
        route
        for route in _every_route(request.app.router.routes)
        if route.matches({**request.scope, "method": "GET"})[0] is not Match.NONE
    ]
    literal = [route for route in matching if not getattr(route, "param_convertors", None)]
    methods: set[str] = set()
    for route in literal or matching:
        methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


def literal_paths(app: Any) -> frozenset[str]:
    """The paths routes name without parameters; computed once per app."""
    cached: frozenset[str] | None = getattr(app.state, "literal_paths", None)
    if cached is None:
        cached = frozenset(
            path
            for route in _every_route(app.router.routes)
            if not getattr(route, "param_convertors", None)
            and isinstance(path := getattr(route, "path", None), str)
        )
        app.state.literal_paths = cached
    return cached


def _every_route(routes: Sequence[BaseRoute]) -> Iterator[BaseRoute]:
    """The routes themselves, also those of included routers: FastAPI lists an included
    router as one entry (`original_router`; ours are included without a prefix, their routes
    carry their full paths)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _every_route(included.routes)
        else:
            yield route


def _reason_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _on_app_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(HTTPException, _on_http_error)
