"""Queries for heartbeats, their state, tags, pings, runs and state changes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Select, case, delete, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from upwatch.db.pagination import sorted_keyset_page
from upwatch.models import (
    Heartbeat,
    HeartbeatPing,
    HeartbeatRun,
    HeartbeatState,
    HeartbeatTag,
    PingKey,
    StateChange,
)

SORTS: dict[str, Any] = {
    "created_at": Heartbeat.public_id,
    "name": Heartbeat.name,
}


@dataclass(frozen=True, slots=True)
class HeartbeatRow:
    heartbeat: Heartbeat
    state: HeartbeatState
    tags: list[str]


@dataclass(frozen=True, slots=True)
class HeartbeatFilter:
    status: str | None = None
    tags: tuple[str, ...] = ()
    is_active: bool | None = None
    q: str | None = None


def _base(organization_id: int) -> Select[Heartbeat, HeartbeatState]:
    return (
        select(Heartbeat, HeartbeatState)
        .join(HeartbeatState, HeartbeatState.heartbeat_id == Heartbeat.id)
        .where(Heartbeat.organization_id == organization_id)
    )


def _filtered(
    query: Select[Heartbeat, HeartbeatState], where: HeartbeatFilter
) -> Select[Heartbeat, HeartbeatState]:
    if where.status:
        query = query.where(HeartbeatState.status == where.status)
    for tag in where.tags:
        query = query.where(
            exists().where(HeartbeatTag.heartbeat_id == Heartbeat.id, HeartbeatTag.tag == tag)
        )
    if where.is_active is not None:
        query = query.where(Heartbeat.is_active == where.is_active)
    if where.q:
        pattern = f"%{where.q.lower()}%"
        query = query.where(
            or_(func.lower(Heartbeat.name).like(pattern), func.lower(Heartbeat.slug).like(pattern))
        )
    return query


async def _tags_of(session: AsyncSession, ids: Sequence[int]) -> dict[int, list[str]]:
    tags: dict[int, list[str]] = defaultdict(list)
    if ids:
        found = await session.execute(
            select(HeartbeatTag.heartbeat_id, HeartbeatTag.tag)
            .where(HeartbeatTag.heartbeat_id.in_(ids))
            .order_by(HeartbeatTag.tag)
        )
        for heartbeat_id, tag in found:
            tags[heartbeat_id].append(tag)
    return tags


async def _rows(session: AsyncSession, pairs: Sequence[Any]) -> list[HeartbeatRow]:
    tags = await _tags_of(session, [heartbeat.id for heartbeat, _ in pairs])
    return [
        HeartbeatRow(heartbeat, state, tags.get(heartbeat.id, [])) for heartbeat, state in pairs
    ]


async def find(session: AsyncSession, organization_id: int, public_id: UUID) -> HeartbeatRow | None:
    found = (
        await session.execute(_base(organization_id).where(Heartbeat.public_id == public_id))
    ).first()
    return None if found is None else (await _rows(session, [found]))[0]


async def by_id(session: AsyncSession, heartbeat_id: int) -> HeartbeatRow | None:
    query = (
        select(Heartbeat, HeartbeatState)
        .join(HeartbeatState, HeartbeatState.heartbeat_id == Heartbeat.id)
        .where(Heartbeat.id == heartbeat_id)
    )
    found = (await session.execute(query)).first()
    return None if found is None else (await _rows(session, [found]))[0]


async def page(
    session: AsyncSession,
    organization_id: int,
    where: HeartbeatFilter,
    *,
    sort: str,
    descending: bool,
    limit: int,
    after: tuple[Any, UUID] | None,
) -> tuple[list[HeartbeatRow], tuple[Any, UUID] | None]:
    query = _filtered(_base(organization_id), where)
    if after is not None and SORTS[sort] is Heartbeat.public_id:
        after = (after[1], after[1])  # sorted by id itself: the value is the id
    pairs, next_key = await sorted_keyset_page(
        session, query, SORTS[sort], Heartbeat.public_id,
        limit=limit, after=after, descending=descending,
    )  # fmt: skip
    return await _rows(session, pairs), next_key


async def count(session: AsyncSession, organization_id: int, where: HeartbeatFilter) -> int:
    query = _filtered(_base(organization_id), where).with_only_columns(func.count())
    return int((await session.execute(query)).scalar_one())


async def count_heartbeats(session: AsyncSession, organization_id: int) -> int:
    query = select(func.count()).where(Heartbeat.organization_id == organization_id)
    return int((await session.execute(query)).scalar_one())


async def slug_taken(
    session: AsyncSession, organization_id: int, slug: str, *, other_than: int | None = None
) -> bool:
    query = select(Heartbeat.id).where(
        Heartbeat.organization_id == organization_id, Heartbeat.slug == slug
    )
    if other_than is not None:
        query = query.where(Heartbeat.id != other_than)
    return (await session.execute(query.limit(1))).first() is not None


async def by_slug(session: AsyncSession, organization_id: int, slug: str) -> int | None:
    query = select(Heartbeat.id).where(
        Heartbeat.organization_id == organization_id, Heartbeat.slug == slug
    )
    return (await session.execute(query)).scalar_one_or_none()


async def replace_tags(session: AsyncSession, heartbeat_id: int, tags: Sequence[str]) -> None:
    await session.execute(delete(HeartbeatTag).where(HeartbeatTag.heartbeat_id == heartbeat_id))
    session.add_all(HeartbeatTag(heartbeat_id=heartbeat_id, tag=tag) for tag in sorted(set(tags)))


async def ping_key(session: AsyncSession, organization_id: int) -> PingKey | None:
    return await session.get(PingKey, organization_id)


async def organization_of_key(session: AsyncSession, key_hash: str) -> int | None:
    query = select(PingKey.organization_id).where(PingKey.key_hash == key_hash)
    return (await session.execute(query)).scalar_one_or_none()


async def _newest_first(
    session: AsyncSession, model: Any, heartbeat_id: int, before: int | None, limit: int
) -> tuple[list[Any], int | None]:
    """A page of a heartbeat's pings or runs, newest first; the cursor is the last row's id."""
    query = select(model).where(model.heartbeat_id == heartbeat_id)
    if before is not None:
        query = query.where(model.id < before)
    rows = list((await session.execute(query.order_by(model.id.desc()).limit(limit + 1))).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, rows[-1].id if more and rows else None


async def pings_page(
    session: AsyncSession, heartbeat_id: int, *, before: int | None, limit: int
) -> tuple[list[HeartbeatPing], int | None]:
    return await _newest_first(session, HeartbeatPing, heartbeat_id, before, limit)


async def runs_page(
    session: AsyncSession, heartbeat_id: int, *, before: int | None, limit: int
) -> tuple[list[HeartbeatRun], int | None]:
    return await _newest_first(session, HeartbeatRun, heartbeat_id, before, limit)


async def state_changes(
    session: AsyncSession, heartbeat_id: int, *, since: datetime, until: datetime
) -> tuple[str | None, list[tuple[datetime, str]]]:
    """The status at `since` (None: not yet created) and the changes up to `until`."""
    before = await session.execute(
        select(StateChange.to_status)
        .where(StateChange.heartbeat_id == heartbeat_id, StateChange.created_at <= since)
        .order_by(StateChange.created_at.desc(), StateChange.id.desc())
        .limit(1)
    )
    during = await session.execute(
        select(StateChange.created_at, StateChange.to_status)
        .where(
            StateChange.heartbeat_id == heartbeat_id,
            StateChange.created_at > since,
            StateChange.created_at < until,
        )
        .order_by(StateChange.created_at, StateChange.id)
    )
    return before.scalar_one_or_none(), [(at, status) for at, status in during]


def _day(session: AsyncSession, column: Any) -> Any:
    """`YYYY-MM-DD` (UTC) of a timestamp column, in SQL."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
    return func.substr(column, 1, 10)  # SQLite keeps naive UTC text: 'YYYY-MM-DD HH:MM:SS'


@dataclass(frozen=True, slots=True)
class RunFigures:
    runs: int
    by_outcome: dict[str, int]
    min_ms: float | None
    max_ms: float | None
    avg_ms: float | None
    p50_ms: float | None
    p95_ms: float | None


async def run_figures(
    session: AsyncSession, heartbeat_id: int, *, since: datetime, until: datetime
) -> RunFigures:
    """Runs opened in [since, until): counts per outcome and the durations of finished ones,
    all computed by the database."""
    window = (
        HeartbeatRun.heartbeat_id == heartbeat_id,
        HeartbeatRun.opened_at >= since,
        HeartbeatRun.opened_at < until,
    )
    counted = await session.execute(
        select(HeartbeatRun.outcome, func.count()).where(*window).group_by(HeartbeatRun.outcome)
    )
    by_outcome = {outcome: int(n) for outcome, n in counted}
    timed = (*window, HeartbeatRun.duration_ms.is_not(None))
    low, high, mean, n = (
        await session.execute(
            select(
                func.min(HeartbeatRun.duration_ms),
                func.max(HeartbeatRun.duration_ms),
                func.avg(HeartbeatRun.duration_ms),
                func.count(),
            ).where(*timed)
        )
    ).one()

    async def percentile(share: float) -> float | None:
        if not n:
            return None
        offset = min(int(n) - 1, int(share * int(n)))
        query = (
            select(HeartbeatRun.duration_ms)
            .where(*timed)
            .order_by(HeartbeatRun.duration_ms)
            .offset(offset)
            .limit(1)
        )
        return (await session.execute(query)).scalar_one_or_none()

    return RunFigures(
        runs=sum(by_outcome.values()),
        by_outcome=by_outcome,
        min_ms=low,
        max_ms=high,
        avg_ms=None if mean is None else round(float(mean), 3),
        p50_ms=await percentile(0.5),
        p95_ms=await percentile(0.95),
    )


async def ping_count(
    session: AsyncSession, heartbeat_id: int, *, since: datetime, until: datetime
) -> int:
    query = select(func.count()).where(
        HeartbeatPing.heartbeat_id == heartbeat_id,
        HeartbeatPing.received_at >= since,
        HeartbeatPing.received_at < until,
    )
    return int((await session.execute(query)).scalar_one())


async def daily_runs(
    session: AsyncSession, heartbeat_id: int, *, since: datetime, until: datetime
) -> dict[str, tuple[int, int]]:
    """`YYYY-MM-DD` → (runs, failed or timed-out runs), grouped by the database."""
    day = _day(session, HeartbeatRun.opened_at)
    bad = func.sum(case((HeartbeatRun.outcome.in_(("failure", "timeout")), 1), else_=0))
    query = (
        select(day, func.count(), bad)
        .where(
            HeartbeatRun.heartbeat_id == heartbeat_id,
            HeartbeatRun.opened_at >= since,
            HeartbeatRun.opened_at < until,
        )
        .group_by(day)
    )
    return {
        str(d): (int(runs), int(failed or 0)) for d, runs, failed in await session.execute(query)
    }
