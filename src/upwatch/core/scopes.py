"""Scopes and roles: what a token may do, and what its owner's role allows.

A request must pass both: the owner's role grants the scope (the capability matrix below),
and the token carries it (`resource:read`, `resource:write`, `resource:*` or `*`). Dashboard
sessions carry `*`, so only the role applies to them.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"


RESOURCES = (
    "monitors",
    "heartbeats",
    "incidents",
    "channels",
    "webhooks",
    "status-pages",
    "maintenance",
    "audit",
    "tokens",
    "members",
    "secrets",
    "events",
    "organization",
)
ACTIONS = ("read", "write")
ALL_SCOPES = frozenset(f"{resource}:{action}" for resource in RESOURCES for action in ACTIONS)

# The capability matrix: which scopes each role can exercise. Owners can do everything;
# admins everything but rename/delete the organization; members run the monitoring (but
# neither manage people nor read secrets or the audit log); viewers only read, and manage
# their own tokens.
_EVERYDAY = ("monitors", "heartbeats", "incidents", "channels", "status-pages", "maintenance")
ROLE_SCOPES: dict[Role, frozenset[str]] = {
    Role.OWNER: ALL_SCOPES,
    Role.ADMIN: ALL_SCOPES - {"organization:write"},
    Role.MEMBER: frozenset(
        {f"{r}:{a}" for r in _EVERYDAY for a in ACTIONS}
        | {"tokens:read", "tokens:write", "members:read", "events:read", "organization:read"}
    ),
    Role.VIEWER: frozenset(
        {f"{r}:read" for r in _EVERYDAY}
        | {"tokens:read", "tokens:write", "members:read", "events:read", "organization:read"}
    ),
}

#: A role may only be granted by someone whose role is at least as high.
ROLE_RANK = {Role.VIEWER: 0, Role.MEMBER: 1, Role.ADMIN: 2, Role.OWNER: 3}


def is_valid_scope(scope: str) -> bool:
    if scope == "*":
        return True
    resource, _, action = scope.partition(":")
    return resource in RESOURCES and action in (*ACTIONS, "*")


def expand(scopes: Iterable[str]) -> frozenset[str]:
    """Wildcards to the concrete scopes they stand for."""
    concrete: set[str] = set()
    for scope in scopes:
        if scope == "*":
            return ALL_SCOPES
        resource, _, action = scope.partition(":")
        if action == "*":
            concrete.update(f"{resource}:{a}" for a in ACTIONS)
        else:
            concrete.add(scope)
    return frozenset(concrete & ALL_SCOPES)


def token_allows(token_scopes: Iterable[str], required: str) -> bool:
    return required in expand(token_scopes)


def role_allows(role: Role, required: str) -> bool:
    return required in ROLE_SCOPES[role]


def beyond(requested: Iterable[str], held: Iterable[str]) -> list[str]:
    """The requested scopes, as written, that stand for something `held` does not cover.

    What someone grants (a token's scopes, a role's capabilities) must lie within what they
    hold, wildcards included: `monitors:*` is beyond `monitors:read`, and `*` is beyond
    anything short of every scope.
    """
    covered = expand(held)
    return list(dict.fromkeys(scope for scope in requested if not expand([scope]) <= covered))
