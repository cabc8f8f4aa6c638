"""The idempotency-key table: claim a key, finish it with the response, or let it go.

Each call is its own short transaction (the caller passes a fresh write session), separate
from the request's own unit of work: the claim must be visible to a concurrent request
before the first one has finished.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from upwatch.models import IdempotencyKey

KEY_LIFETIME = timedelta(hours=24)
# A claim whose request died with its process is taken over after this long.
ABANDONED_AFTER = timedelta(minutes=1)


class Outcome(StrEnum):
    CLAIMED = "claimed"
    REPLAY = "replay"
    IN_PROGRESS = "in_progress"
    REUSED = "reused"


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True, slots=True)
class Claim:
    outcome: Outcome
    record_id: int | None = None
    response: StoredResponse | None = None


async def claim(
    session: AsyncSession, actor: str, key: str, request_hash: str, now: datetime
) -> Claim:
    """Claim (actor, key) for this request, or say why not. Commits."""
    existing = await _find(session, actor, key)
    if existing is not None and _stale(existing, now):
        await session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == existing.id))
        await session.commit()
        existing = None
    if existing is None:
        row = IdempotencyKey(
            actor=actor,
            key=key,
            request_hash=request_hash,
            created_at=now,
            expires_at=now + KEY_LIFETIME,
        )
        session.add(row)
        try:
            await session.commit()
        except IntegrityError:  # a concurrent request claimed it first
            await session.rollback()
            existing = await _find(session, actor, key)
            if existing is None:  # it was released meanwhile; let the client retry
                return Claim(Outcome.IN_PROGRESS)
        else:
            return Claim(Outcome.CLAIMED, record_id=row.id)
    return _judge(existing, request_hash)


def _judge(existing: IdempotencyKey, request_hash: str) -> Claim:
    if existing.request_hash != request_hash:
        return Claim(Outcome.REUSED)
    if existing.response_status is None:
        return Claim(Outcome.IN_PROGRESS)
    headers = [(str(name), str(value)) for name, value in existing.response_headers or []]
    return Claim(
        Outcome.REPLAY,
        response=StoredResponse(existing.response_status, headers, existing.response_body or b""),
    )


def _stale(row: IdempotencyKey, now: datetime) -> bool:
    abandoned = row.response_status is None and now - row.created_at > ABANDONED_AFTER
    return row.expires_at <= now or abandoned


async def _find(session: AsyncSession, actor: str, key: str) -> IdempotencyKey | None:
    result = await session.execute(
        select(IdempotencyKey).where(IdempotencyKey.actor == actor, IdempotencyKey.key == key)
    )
    return result.scalar_one_or_none()


async def finish(session: AsyncSession, record_id: int, response: StoredResponse) -> None:
    headers: list[Any] = [list(pair) for pair in response.headers]
    await session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.id == record_id)
        .values(
            response_status=response.status, response_headers=headers, response_body=response.body
        )
    )
    await session.commit()


async def release(session: AsyncSession, record_id: int) -> None:
    await session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == record_id))
    await session.commit()


async def purge_expired(session: AsyncSession, now: datetime) -> int:
    result = await session.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at <= now))
    await session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
