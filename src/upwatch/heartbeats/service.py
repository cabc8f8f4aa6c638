"""Creating, changing, pausing and removing heartbeats; ping tokens and keys. No commit
here: the edge commits, then publishes the returned transitions and re-arms deadlines."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from upwatch.audit import service as audit
from upwatch.core.errors import AppError, ErrorCode, FieldError
from upwatch.heartbeats import machine, repository
from upwatch.heartbeats.credentials import PingCredentials
from upwatch.heartbeats.live import apply_to, live_of, rules_of
from upwatch.heartbeats.machine import HeartbeatStatus, Transition
from upwatch.heartbeats.repository import HeartbeatRow
from upwatch.heartbeats.schedule import cron_error, timezone_error
from upwatch.heartbeats.schemas import HeartbeatCreate, HeartbeatUpdate
from upwatch.models import Heartbeat, HeartbeatState, PingKey, StateChange

AUDITED = (
    "name", "slug", "period_seconds", "cron", "timezone", "grace_seconds",
    "max_runtime_seconds", "min_runtime_seconds", "is_active",
)  # fmt: skip
SCHEDULE_FIELDS = {"period_seconds", "cron", "timezone", "grace_seconds", "max_runtime_seconds"}


@dataclass(frozen=True, slots=True)
class Changed:
    """What the edge must do after the commit."""

    heartbeat: Heartbeat
    transition: Transition | None = None


def _invalid(path: str, code: str, message: str) -> AppError:
    return AppError(ErrorCode.VALIDATION_FAILED, fields=[FieldError(path, code, message)])


def _one_schedule(period_seconds: int | None, cron: str | None) -> None:
    if period_seconds is not None and cron is not None:
        raise _invalid("cron", "conflict", "give period_seconds or cron, not both")


def _validate(heartbeat: Heartbeat) -> None:
    if heartbeat.cron is not None and (problem := cron_error(heartbeat.cron)):
        raise _invalid("cron", "invalid", problem)
    if problem := timezone_error(heartbeat.timezone):
        raise _invalid("timezone", "invalid", problem)
    low, high = heartbeat.min_runtime_seconds, heartbeat.max_runtime_seconds
    if low is not None and high is not None and low >= high:
        raise _invalid("min_runtime_seconds", "too_large", "must be below max_runtime_seconds")


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:100]


async def _claim_slug(
    session: AsyncSession, heartbeat: Heartbeat, slug: str | None, *, derived: bool
) -> None:
    if slug and await repository.slug_taken(
        session, heartbeat.organization_id, slug, other_than=heartbeat.id
    ):
        if derived:  # the caller did not ask for this slug: go without one
            slug = None
        else:
            raise AppError(
                ErrorCode.SLUG_TAKEN,
                fields=[FieldError("slug", "taken", "another heartbeat has this slug")],
            )
    heartbeat.slug = slug or None


def _snapshot(heartbeat: Heartbeat) -> dict[str, Any]:
    return {name: getattr(heartbeat, name) for name in AUDITED}


def _record(
    session: AsyncSession,
    actor: audit.Actor,
    heartbeat: Heartbeat,
    action: str,
    changes: dict[str, Any],
    now: datetime,
) -> None:
    audit.record_for(session, actor, "heartbeat", heartbeat, action, changes, now)


def add_state_change(session: AsyncSession, heartbeat_id: int, transition: Transition) -> None:
    session.add(
        StateChange(
            heartbeat_id=heartbeat_id,
            from_status=str(transition.from_status),
            to_status=str(transition.to_status),
            reason=transition.reason,
            created_at=transition.at,
        )
    )


async def create(
    session: AsyncSession,
    actor: audit.Actor,
    credentials: PingCredentials,
    *,
    organization_id: int,
    data: HeartbeatCreate,
    now: datetime,
) -> Heartbeat:
    _one_schedule(data.period_seconds, data.cron)
    token = credentials.new_token()
    heartbeat = Heartbeat(
        organization_id=organization_id,
        ping_token_hash=credentials.lookup_hash(token),
        ping_token_sealed=credentials.seal(token),
        created_at=now,
        updated_at=now,
        **data.model_dump(include=set(AUDITED) - {"slug"}),
    )
    _validate(heartbeat)
    derived = data.slug is None
    await _claim_slug(session, heartbeat, data.slug or slugify(data.name), derived=derived)
    session.add(heartbeat)
    await session.flush()
    status = HeartbeatStatus.PENDING if heartbeat.is_active else HeartbeatStatus.PAUSED
    session.add(HeartbeatState(heartbeat_id=heartbeat.id, status=str(status), open_runs=[]))
    await repository.replace_tags(session, heartbeat.id, data.tags)
    changes = audit.created({**_snapshot(heartbeat), "tags": sorted(set(data.tags))})
    _record(session, actor, heartbeat, "heartbeat.create", changes, now)
    return heartbeat


async def update(
    session: AsyncSession,
    actor: audit.Actor,
    row: HeartbeatRow,
    data: HeartbeatUpdate,
    now: datetime,
) -> Changed:
    heartbeat = row.heartbeat
    before = {**_snapshot(heartbeat), "tags": row.tags}
    given = data.model_dump(exclude_unset=True)
    _one_schedule(given.get("period_seconds"), given.get("cron"))
    nullable = {"max_runtime_seconds", "min_runtime_seconds"}
    for name in set(AUDITED) - {"slug", "is_active"}:
        if name in given and (given[name] is not None or name in nullable):
            setattr(heartbeat, name, given[name])
    if given.get("cron") is not None:
        heartbeat.period_seconds = None
    elif given.get("period_seconds") is not None:
        heartbeat.cron = None
    _validate(heartbeat)
    if "slug" in given:
        await _claim_slug(session, heartbeat, given["slug"], derived=False)
    tags = sorted(set(data.tags)) if data.tags is not None else row.tags
    await repository.replace_tags(session, heartbeat.id, tags)
    transition = None
    if given.get("is_active") is not None and given["is_active"] != heartbeat.is_active:
        transition = _set_active(heartbeat, row.state, given["is_active"], now)
    elif SCHEDULE_FIELDS & given.keys():
        live = live_of(row.state)
        machine.rearm(rules_of(heartbeat), live)
        apply_to(row.state, live)
    if transition is not None:
        add_state_change(session, heartbeat.id, transition)
    heartbeat.updated_at = now
    changes = audit.diff(before, {**_snapshot(heartbeat), "tags": tags})
    if changes:
        _record(session, actor, heartbeat, "heartbeat.update", changes, now)
    return Changed(heartbeat, transition)


def _set_active(
    heartbeat: Heartbeat, state: HeartbeatState, active: bool, now: datetime
) -> Transition | None:
    heartbeat.is_active = active
    live = live_of(state)
    if active:
        transition = machine.resume(rules_of(heartbeat), live, now)
    else:
        transition = machine.pause(live, now)
    apply_to(state, live)
    return transition


async def set_active(
    session: AsyncSession, actor: audit.Actor, row: HeartbeatRow, active: bool, now: datetime
) -> Changed:
    """Pause, or resume with the timer restarted from now."""
    heartbeat = row.heartbeat
    if heartbeat.is_active == active:
        return Changed(heartbeat)
    transition = _set_active(heartbeat, row.state, active, now)
    if transition is not None:
        add_state_change(session, heartbeat.id, transition)
    heartbeat.updated_at = now
    action = "heartbeat.resume" if active else "heartbeat.pause"
    _record(
        session, actor, heartbeat, action, {"is_active": {"from": not active, "to": active}}, now
    )
    return Changed(heartbeat, transition)


async def delete(
    session: AsyncSession, actor: audit.Actor, row: HeartbeatRow, now: datetime
) -> None:
    heartbeat = row.heartbeat
    _record(
        session, actor, heartbeat, "heartbeat.delete",
        audit.snapshot({**_snapshot(heartbeat), "tags": row.tags}), now,
    )  # fmt: skip
    session.expunge(row.state)  # the database cascades to state, tags, pings, runs, changes
    await session.delete(heartbeat)


def rotate_token(
    session: AsyncSession,
    actor: audit.Actor,
    credentials: PingCredentials,
    row: HeartbeatRow,
    now: datetime,
) -> str:
    """A new ping token; the old one stops working with this commit."""
    token = credentials.new_token()
    row.heartbeat.ping_token_hash = credentials.lookup_hash(token)
    row.heartbeat.ping_token_sealed = credentials.seal(token)
    row.heartbeat.updated_at = now
    _record(
        session, actor, row.heartbeat, "heartbeat.rotate_token", {"ping_token": audit.REDACTED}, now
    )
    return token


def record_secrets_read(
    session: AsyncSession, actor: audit.Actor, row: HeartbeatRow, now: datetime
) -> None:
    _record(session, actor, row.heartbeat, "heartbeat.secrets.read", {}, now)


async def ping_key(
    session: AsyncSession,
    actor: audit.Actor,
    credentials: PingCredentials,
    organization_id: int,
    now: datetime,
    *,
    rotate: bool,
) -> tuple[str, PingKey]:
    """The organization's ping key, made on first use; `rotate` replaces it."""
    row = await repository.ping_key(session, organization_id)
    if row is not None and not rotate:
        return credentials.open(row.key_sealed), row
    key = credentials.new_key()
    if row is None:
        row = PingKey(organization_id=organization_id, created_at=now)
        session.add(row)
    row.key_hash, row.key_sealed, row.created_at = (
        credentials.lookup_hash(key),
        credentials.seal(key),
        now,
    )
    audit.record(
        session,
        actor,
        organization_id=organization_id,
        action="ping_key.rotate" if rotate else "ping_key.create",
        resource_type="ping_key",
        resource_id=None,
        changes={"ping_key": audit.REDACTED},
        at=now,
    )
    return key, row
