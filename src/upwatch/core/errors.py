"""The catalog of error codes: every non-2xx answer of the API carries one of these.

A code's meaning never changes once published; new codes may be added. The catalog is
mirrored in `docs/api.md` (a test keeps the two in step).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from http import HTTPStatus
from typing import Any


class ErrorCode(StrEnum):
    VALIDATION_FAILED = "VALIDATION_FAILED"
    INVALID_JSON = "INVALID_JSON"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    CONFLICT = "CONFLICT"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    REQUEST_TIMEOUT = "REQUEST_TIMEOUT"
    RATE_LIMITED = "RATE_LIMITED"
    TOO_MANY_STREAMS = "TOO_MANY_STREAMS"
    TOKEN_SCOPE_INSUFFICIENT = "TOKEN_SCOPE_INSUFFICIENT"
    CSRF_TOKEN_INVALID = "CSRF_TOKEN_INVALID"
    SOLE_OWNER = "SOLE_OWNER"
    IDEMPOTENCY_KEY_TOO_LONG = "IDEMPOTENCY_KEY_TOO_LONG"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    IDEMPOTENCY_IN_PROGRESS = "IDEMPOTENCY_IN_PROGRESS"
    QUOTA_EXCEEDED = "QUOTA_EXCEEDED"
    TOKEN_DAILY_LIMIT_EXCEEDED = "TOKEN_DAILY_LIMIT_EXCEEDED"
    INVALID_EXIT_CODE = "INVALID_EXIT_CODE"
    SLUG_TAKEN = "SLUG_TAKEN"
    DESTINATION_NOT_ALLOWED = "DESTINATION_NOT_ALLOWED"
    INTERNAL = "INTERNAL"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"


@dataclass(frozen=True, slots=True)
class CodeInfo:
    status: HTTPStatus
    message: str


CATALOG: dict[ErrorCode, CodeInfo] = {
    ErrorCode.VALIDATION_FAILED: CodeInfo(HTTPStatus.BAD_REQUEST, "The request is not valid."),
    ErrorCode.INVALID_JSON: CodeInfo(
        HTTPStatus.BAD_REQUEST, "The request body is not a valid JSON document."
    ),
    ErrorCode.UNAUTHENTICATED: CodeInfo(HTTPStatus.UNAUTHORIZED, "Authentication is required."),
    ErrorCode.FORBIDDEN: CodeInfo(HTTPStatus.FORBIDDEN, "You are not allowed to do this."),
    ErrorCode.NOT_FOUND: CodeInfo(HTTPStatus.NOT_FOUND, "Not found."),
    ErrorCode.METHOD_NOT_ALLOWED: CodeInfo(
        HTTPStatus.METHOD_NOT_ALLOWED, "This method is not allowed on this resource."
    ),
    ErrorCode.CONFLICT: CodeInfo(HTTPStatus.CONFLICT, "The request conflicts with current state."),
    ErrorCode.PAYLOAD_TOO_LARGE: CodeInfo(
        HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "The request body is too large."
    ),
    ErrorCode.REQUEST_TIMEOUT: CodeInfo(
        HTTPStatus.REQUEST_TIMEOUT, "The request body did not arrive in time."
    ),
    ErrorCode.RATE_LIMITED: CodeInfo(HTTPStatus.TOO_MANY_REQUESTS, "Too many requests."),
    ErrorCode.TOO_MANY_STREAMS: CodeInfo(
        HTTPStatus.TOO_MANY_REQUESTS, "Too many live event streams are open."
    ),
    ErrorCode.TOKEN_SCOPE_INSUFFICIENT: CodeInfo(
        HTTPStatus.FORBIDDEN, "The token lacks the scope this request needs."
    ),
    ErrorCode.CSRF_TOKEN_INVALID: CodeInfo(
        HTTPStatus.FORBIDDEN, "The X-CSRF-Token header is missing or does not match."
    ),
    ErrorCode.SOLE_OWNER: CodeInfo(
        HTTPStatus.CONFLICT, "An organization must keep at least one owner."
    ),
    ErrorCode.IDEMPOTENCY_KEY_TOO_LONG: CodeInfo(
        HTTPStatus.BAD_REQUEST, "Idempotency-Key must be at most 255 characters."
    ),
    ErrorCode.IDEMPOTENCY_KEY_REUSED: CodeInfo(
        HTTPStatus.CONFLICT, "This Idempotency-Key was used with a different request."
    ),
    ErrorCode.IDEMPOTENCY_IN_PROGRESS: CodeInfo(
        HTTPStatus.CONFLICT, "A request with this Idempotency-Key is still being processed."
    ),
    ErrorCode.INVALID_EXIT_CODE: CodeInfo(
        HTTPStatus.BAD_REQUEST, "An exit code must be a whole number from 0 to 255."
    ),
    ErrorCode.SLUG_TAKEN: CodeInfo(
        HTTPStatus.CONFLICT, "Another heartbeat of this organization has this slug."
    ),
    ErrorCode.QUOTA_EXCEEDED: CodeInfo(
        HTTPStatus.TOO_MANY_REQUESTS, "The organization's quota for this resource is used up."
    ),
    ErrorCode.TOKEN_DAILY_LIMIT_EXCEEDED: CodeInfo(
        HTTPStatus.TOO_MANY_REQUESTS, "This token's daily mutation limit is used up."
    ),
    ErrorCode.DESTINATION_NOT_ALLOWED: CodeInfo(
        HTTPStatus.BAD_REQUEST,
        "The destination resolves to a private or loopback address, which this server refuses.",
    ),
    ErrorCode.INTERNAL: CodeInfo(HTTPStatus.INTERNAL_SERVER_ERROR, "Internal server error."),
    ErrorCode.SERVICE_UNAVAILABLE: CodeInfo(
        HTTPStatus.SERVICE_UNAVAILABLE, "The service is temporarily unavailable."
    ),
}


@dataclass(frozen=True, slots=True)
class FieldError:
    """One invalid input: `path` names the field (`config.headers[0].name`)."""

    path: str
    code: str
    message: str


@dataclass(slots=True)
class AppError(Exception):
    """An expected failure that the API turns into its error envelope.

    Services raise it; only the API edge knows how to render it.
    """

    code: ErrorCode
    message: str | None = None
    fields: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        Exception.__init__(self, self.message or CATALOG[self.code].message)

    @property
    def status(self) -> int:
        return int(CATALOG[self.code].status)

    @property
    def text(self) -> str:
        return self.message or CATALOG[self.code].message


class ConfigInvalidError(Exception):
    """A kind's config failed its schema: pydantic's errors (each `loc` relative to the
    config), for the API edge to name the fields as `config.<path>`."""

    def __init__(self, errors: list[Any]) -> None:
        super().__init__("invalid config")
        self.errors = errors


def code_for_status(status: int) -> ErrorCode:
    """The code for an HTTP status raised by the framework itself (404 route, 405...).

    Where several codes share a status, the general one is listed first in CATALOG.
    """
    for code, info in CATALOG.items():
        if info.status == status:
            return code
    return ErrorCode.INTERNAL if status >= 500 else ErrorCode.VALIDATION_FAILED
