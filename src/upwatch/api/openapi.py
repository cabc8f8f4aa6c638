"""The OpenAPI document as our API really answers: errors are 400 in the envelope, never 422."""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from upwatch.api.auth import required_scope
from upwatch.api.routes import api_routes

_PARAMETER = re.compile(r"\{([^}]+)\}")

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["error", "code"],
    "properties": {
        "error": {"type": "string", "description": "Human-readable message."},
        "code": {"type": "string", "description": "Stable machine code (see docs/api.md)."},
        "fields": {
            "type": "array",
            "description": "Present for VALIDATION_FAILED: one entry per invalid field.",
            "items": {
                "type": "object",
                "required": ["path", "code", "message"],
                "properties": {
                    "path": {"type": "string"},
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        },
    },
}


def install_openapi(app: FastAPI) -> None:
    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            _use_error_envelope(schema)
            _declare_scopes(schema)  # by each route's own path: before paths are merged
            _merge_identical_paths(schema)
            _declare_error_responses(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = build  # type: ignore[method-assign]


def _use_error_envelope(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    components["Error"] = ERROR_SCHEMA
    error_ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            if responses.pop("422", None) is not None:
                responses["400"] = {"description": "Validation failed", "content": error_ref}


def _declare_scopes(schema: dict[str, Any]) -> None:
    """`x-required-scope` on each operation, from the route's `require(...)`."""
    for route in api_routes():
        scope = required_scope(route)
        operations = schema.get("paths", {}).get(route.path_format, {})
        for method in route.methods or ():
            operation = operations.get(method.lower())
            if operation is not None:
                operation["x-required-scope"] = scope or "public"


WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})
# What any operation may answer, whatever it does: a bad query parameter, a busy client, a
# database that is away.
EVERY_OPERATION = {
    "400": "The request is not valid (VALIDATION_FAILED, INVALID_JSON...).",
    "429": "Rate limited (RATE_LIMITED, QUOTA_EXCEEDED...); see Retry-After.",
    "503": "A dependency (database, Redis) is unavailable (SERVICE_UNAVAILABLE).",
}
AUTHENTICATED = {
    "401": "No valid credentials (UNAUTHENTICATED).",
    "403": "The token or role does not allow this (TOKEN_SCOPE_INSUFFICIENT, FORBIDDEN...).",
}
WITH_PATH_PARAMETERS = {"404": "No such resource in your organization (NOT_FOUND)."}
WRITES = {
    "409": "Conflicts with the current state or a reused Idempotency-Key (CONFLICT...).",
    "413": "The request body is too large (PAYLOAD_TOO_LARGE).",
}


def _declare_error_responses(schema: dict[str, Any]) -> None:
    """Every error an operation can answer, in the error envelope, so clients (and contract
    tests) know them: those any operation may give, and those its kind of operation gives."""
    error_ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            possible = dict(EVERY_OPERATION)
            if operation.get("x-required-scope", "public") != "public":
                possible |= AUTHENTICATED
            if "{" in path:
                possible |= WITH_PATH_PARAMETERS
            if method in WRITE_METHODS:
                possible |= WRITES
            responses = operation.setdefault("responses", {})
            for status, description in possible.items():
                responses.setdefault(status, {"description": description})
            for status, response in responses.items():
                if status[0] in "45":  # a route's own (`404: {}`) gets the envelope too
                    response.setdefault("description", HTTPStatus(int(status)).phrase)
                    response.setdefault("content", error_ref)


def _merge_identical_paths(schema: dict[str, Any]) -> None:
    """Paths that differ only in their parameters' names (`/heartbeats/{heartbeat_id}` and
    `/heartbeats/{token}`, the ping by token) are one URL, and OpenAPI allows one entry per
    URL: the later one's operations join the first, its parameter renamed."""
    paths: dict[str, Any] = schema.get("paths", {})
    first_of_shape: dict[str, str] = {}
    for path in list(paths):
        shape = _PARAMETER.sub("{}", path)
        if shape not in first_of_shape:
            first_of_shape[shape] = path
            continue
        kept = first_of_shape[shape]
        renames = dict(zip(_PARAMETER.findall(path), _PARAMETER.findall(kept), strict=True))
        for method, operation in paths.pop(path).items():
            for parameter in operation.get("parameters", ()):
                if parameter.get("in") == "path":
                    parameter["name"] = renames.get(parameter["name"], parameter["name"])
            paths[kept].setdefault(method, operation)
