"""Recording audit entries. Services call `record` in the same session as the change, so a
change and its audit row commit (or roll back) together."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from upwatch.core.principal import Principal
from upwatch.models import AuditLog

REDACTED: dict[str, bool] = {"redacted": True}


class Source(StrEnum):
    API = "api"
    DASHBOARD = "dashboard"
    CLI = "cli"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts and from where; built once at the edge (API request, CLI command)."""

    source: Source
    user_id: int | None = None
    email: str | None = None
    token_id: int | None = None
    token_prefix: str | None = None
    client_ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None

    @classmethod
    def for_principal(cls, principal: Principal, **where: str | None) -> Actor:
        return cls(
            source=Source.API if principal.token_id is not None else Source.DASHBOARD,
            user_id=principal.user_id,
            email=principal.email,
            token_id=principal.token_id,
            token_prefix=principal.token_prefix,
            **where,
        )

    def as_user(self, user_id: int, email: str) -> Actor:
        return replace(self, user_id=user_id, email=email)


def diff(
    before: Mapping[str, Any], after: Mapping[str, Any], secret_fields: Iterable[str] = ()
) -> dict[str, Any]:
    """`{"field": {"from": old, "to": new}}` for each changed field; secrets redacted."""
    secrets = set(secret_fields)
    changes: dict[str, Any] = {}
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if old != new:
            changes[name] = REDACTED if name in secrets else {"from": old, "to": new}
    return changes


def created(values: Mapping[str, Any], secret_fields: Iterable[str] = ()) -> dict[str, Any]:
    return diff({}, values, secret_fields)


def snapshot(values: Mapping[str, Any]) -> dict[str, Any]:
    """What a deleted resource was, for the record: its identifying fields."""
    return {"deleted": dict(values)}


def record(
    session: AsyncSession,
    actor: Actor,
    *,
    organization_id: int,
    action: str,
    resource_type: str,
    resource_id: str | None,
    changes: dict[str, Any],
    at: datetime,
) -> None:
    session.add(
        AuditLog(
            organization_id=organization_id,
            actor_user_id=actor.user_id,
            actor_email=actor.email,
            actor_token_id=actor.token_id,
            actor_token_prefix=actor.token_prefix,
            source=str(actor.source),
            action=action,
            resource_type=resource_type,
            resource_id=resource_id,
            changes=changes,
            client_ip=actor.client_ip,
            user_agent=actor.user_agent,
            request_id=actor.request_id,
            created_at=at,
        )
    )


class Owned(Protocol):
    """A resource of one organization, known outside by its public id."""

    @property
    def organization_id(self) -> int: ...

    @property
    def public_id(self) -> UUID: ...


def record_for(
    session: AsyncSession,
    actor: Actor,
    resource_type: str,
    resource: Owned,
    action: str,
    changes: dict[str, Any],
    at: datetime,
) -> None:
    """`record` for a resource that carries its organization and public id."""
    record(
        session,
        actor,
        organization_id=resource.organization_id,
        action=action,
        resource_type=resource_type,
        resource_id=str(resource.public_id),
        changes=changes,
        at=at,
    )


async def delete_recorded(
    session: AsyncSession,
    actor: Actor,
    resource_type: str,
    resource: Owned,
    action: str,
    changes: dict[str, Any],
    at: datetime,
) -> None:
    """Delete `resource`, recording it first: the audit row outlives it and says what it was."""
    record_for(session, actor, resource_type, resource, action, changes, at)
    await session.delete(resource)
