"""Creating, renaming and deleting monitor groups: names are unique in an organization, and
every change is audited."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from upwatch.audit import service as audit
from upwatch.core.errors import AppError, ErrorCode
from upwatch.models import MonitorGroup

RESOURCE = "monitor_group"


async def create(
    session: AsyncSession, actor: audit.Actor, organization_id: int, name: str, now: datetime
) -> MonitorGroup:
    group = MonitorGroup(organization_id=organization_id, name=name, created_at=now)
    session.add(group)
    await _flush_unique(session, name)
    changes = audit.created({"name": name})
    audit.record_for(session, actor, RESOURCE, group, "monitor_group.create", changes, now)
    return group


async def rename(
    session: AsyncSession, actor: audit.Actor, group: MonitorGroup, name: str, now: datetime
) -> None:
    before, group.name = group.name, name
    await _flush_unique(session, name)
    changes = audit.diff({"name": before}, {"name": name})
    audit.record_for(session, actor, RESOURCE, group, "monitor_group.update", changes, now)


async def delete(
    session: AsyncSession, actor: audit.Actor, group: MonitorGroup, now: datetime
) -> None:
    """Delete the group; its monitors stay, ungrouped (the foreign key sets them null)."""
    changes = audit.snapshot({"name": group.name})
    await audit.delete_recorded(
        session, actor, RESOURCE, group, "monitor_group.delete", changes, now
    )


async def _flush_unique(session: AsyncSession, name: str) -> None:
    # The unique constraint is the only check of a name that two requests cannot race.
    try:
        await session.flush()
    except IntegrityError:
        raise AppError(ErrorCode.CONFLICT, f"A group named {name!r} already exists.") from None
