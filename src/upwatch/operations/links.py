"""What ties monitors and heartbeats to alerting: their chosen channels and (monitors) the
monitor they depend on."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from upwatch.models import Monitor
from upwatch.monitors import repository, service
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
        await service.set_parent(session, monitor, given["depends_on_id"])


async def apply_heartbeat_channels(
    session: AsyncSession, organization_id: int, heartbeat_id: int, channel_ids: list[UUID] | None
) -> None:
    if channel_ids is not None:
        ids = await channels.resolve_ids(session, organization_id, channel_ids, "channel_ids")
        await channels.set_subject_channels(session, "heartbeat", heartbeat_id, ids)


async def monitor_links(session: AsyncSession, monitor: Monitor) -> dict[str, Any]:
    """The monitor's `channel_ids` and `depends_on_id`, as its detail shows them."""
    parent = None
    if monitor.depends_on_id is not None:
        parent = await repository.public_id_of(session, monitor.depends_on_id)
    return {
        "channel_ids": await channels.subject_channels(session, "monitor", monitor.id),
        "depends_on_id": parent,
    }


async def heartbeat_channels(session: AsyncSession, heartbeat_id: int) -> list[UUID]:
    return await channels.subject_channels(session, "heartbeat", heartbeat_id)
