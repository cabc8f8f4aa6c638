"""Reading the audit log: filters and keyset pages, newest first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from upwatch.db.pagination import keyset_page
from upwatch.models import ApiToken, AuditLog, User

ActorUser = aliased(User)
ActorToken = aliased(ApiToken)


@dataclass(frozen=True, slots=True)
class AuditFilter:
    action: str | None = None
    actor_user: UUID | None = None
    actor_token: UUID | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class AuditRow:
    entry: AuditLog
    actor_user_public_id: UUID | None
    actor_token_public_id: UUID | None


def _query(organization_id: int, where: AuditFilter) -> Select[AuditLog, UUID, UUID]:
    query = (
        select(AuditLog, ActorUser.public_id, ActorToken.public_id)
        .outerjoin(ActorUser, ActorUser.id == AuditLog.actor_user_id)
        .outerjoin(ActorToken, ActorToken.id == AuditLog.actor_token_id)
        .where(AuditLog.organization_id == organization_id)
    )
    if where.action:
        query = query.where(AuditLog.action == where.action)
    if where.actor_user:
        query = query.where(ActorUser.public_id == where.actor_user)
    if where.actor_token:
        query = query.where(ActorToken.public_id == where.actor_token)
    if where.resource_type:
        query = query.where(AuditLog.resource_type == where.resource_type)
    if where.resource_id:
        query = query.where(AuditLog.resource_id == where.resource_id)
    if where.since:
        query = query.where(AuditLog.created_at >= where.since)
    if where.until:
        query = query.where(AuditLog.created_at < where.until)
    return query


async def page(
    session: AsyncSession,
    organization_id: int,
    where: AuditFilter,
    *,
    limit: int,
    after: UUID | None,
) -> tuple[Sequence[AuditRow], UUID | None]:
    rows, next_key = await keyset_page(
        session, _query(organization_id, where), AuditLog.public_id, limit=limit, after=after
    )
    return [AuditRow(row[0], row[1], row[2]) for row in rows], next_key
