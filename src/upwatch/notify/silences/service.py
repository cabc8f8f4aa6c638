"""Creating, ending and deleting silences; every change is audited."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from upwatch.audit import service as audit
from upwatch.models import Heartbeat, Monitor, Silence
from upwatch.notify.schemas import SilenceCreate
from upwatch.notify.silences.repository import SilenceRepository
from upwatch.notify.targets import checked_ids, invalid

RESOURCE = "silence"


async def create(
    session: AsyncSession,
    actor: audit.Actor,
    organization_id: int,
    data: SilenceCreate,
    now: datetime,
) -> Silence:
    starts_at = data.starts_at or now
    if data.ends_at <= starts_at:
        raise invalid("ends_at", "invalid", "must be after starts_at")
    silence = Silence(
        organization_id=organization_id, comment=data.comment, starts_at=starts_at,
        ends_at=data.ends_at,
        monitor_ids=await checked_ids(session, organization_id, Monitor, data.monitor_ids,
                                      "monitor_ids"),
        heartbeat_ids=await checked_ids(session, organization_id, Heartbeat,
                                        data.heartbeat_ids, "heartbeat_ids"),
        tags=sorted(set(data.tags)), alert_kinds=sorted({str(k) for k in data.alert_kinds}),
        max_impact=data.max_impact, created_by=actor.email, created_at=now,
    )  # fmt: skip
    await SilenceRepository(session).add(silence)
    changes = audit.created({"comment": data.comment})
    audit.record_for(session, actor, RESOURCE, silence, "silence.create", changes, now)
    return silence


def expire(session: AsyncSession, actor: audit.Actor, silence: Silence, now: datetime) -> None:
    """End the silence now; one that has already ended stays as it is (and is not audited)."""
    if silence.ends_at <= now:
        return
    changes = audit.diff({"ends_at": silence.ends_at.isoformat()}, {"ends_at": now.isoformat()})
    silence.ends_at = max(now, silence.starts_at)
    audit.record_for(session, actor, RESOURCE, silence, "silence.expire", changes, now)


async def delete(
    session: AsyncSession, actor: audit.Actor, silence: Silence, now: datetime
) -> None:
    await audit.delete_recorded(session, actor, RESOURCE, silence, "silence.delete", {}, now)
