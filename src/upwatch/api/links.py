"""What ties monitors and heartbeats to alerting: their chosen channels and (monitors) the
monitor they depend on. Kept at the API edge, which may use both sides."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from upwatch.core.errors import AppError, ErrorCode, FieldError
from upwatch.models import Monitor
from upwatch.notify import channels


async def apply_monitor_links(
    session: AsyncSession, monitor: Monitor, given: dict[str, Any]
) -> None:
    """Set `channel_ids` and `depends_on_id` when `given` (a model_dump) has them."""
    if given.get("channel_ids") is not None:
        ids = await channels.resolve_ids(
            session, monitor.organization_id, given["channel_ids"], "channel_ids"
        )
        await channels.set_subject_channels(session, "monitor", monitor.id, ids)
    if "depends_on_id" in given:
        monitor.depends_on_id = await _parent(
            session, monitor, given["depends_on_id"], "depends_on_id"
        )


async def _parent(
    session: AsyncSession, monitor: Monitor, public_id: UUID | None, field: str
) -> int | None:
    if public_id is None:
        return None
    query = select(Monitor.id, Monitor.depends_on_id).where(
        Monitor.organization_id == monitor.organization_id, Monitor.public_id == public_id
    )
    found = (await session.execute(query)).first()
    if found is None:
        raise _invalid(field, "not_found", "no such monitor in this organization")
    parent_id, grandparent = found
    seen = {monitor.id}
    while True:  # a cycle would suppress each other forever
        if parent_id in seen:
            raise _invalid(field, "cycle", "a monitor cannot depend on itself, even indirectly")
        if grandparent is None:
            break
        seen.add(parent_id)
        parent_id, grandparent = (
            grandparent,
            (
                await session.execute(
                    select(Monitor.depends_on_id).where(Monitor.id == grandparent)
                )
            ).scalar_one_or_none(),
        )
    return int(found[0])


def _invalid(path: str, code: str, message: str) -> AppError:
    return AppError(ErrorCode.VALIDATION_FAILED, fields=[FieldError(path, code, message)])


async def apply_heartbeat_channels(
    session: AsyncSession, organization_id: int, heartbeat_id: int, channel_ids: list[UUID] | None
) -> None:
    if channel_ids is not None:
        ids = await channels.resolve_ids(session, organization_id, channel_ids, "channel_ids")
        await channels.set_subject_channels(session, "heartbeat", heartbeat_id, ids)


async def monitor_links(session: AsyncSession, monitor: Monitor) -> dict[str, Any]:
    parent = None
    if monitor.depends_on_id is not None:
        query = select(Monitor.public_id).where(Monitor.id == monitor.depends_on_id)
        parent = (await session.execute(query)).scalar_one_or_none()
    return {
        "channel_ids": await channels.subject_channels(session, "monitor", monitor.id),
        "depends_on_id": parent,
    }
