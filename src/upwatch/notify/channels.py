"""Notification channels: create, change, delete (audited), check a destination, show.

A config is validated by its kind's notifier (`channels.registry.NOTIFIERS`): its model
(`ConfigInvalidError` carries pydantic's errors for the API to name the fields), then its own
check (Apprise must understand the URL, ...). The host the kind lets users choose (a webhook's,
a self-hosted server's) must pass the SSRF guard unless the operator allows private
destinations.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import ValidationError
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from upwatch.audit import service as audit
from upwatch.channels.base import ConfigRefusedError
from upwatch.channels.destinations import guard_host
from upwatch.channels.registry import NOTIFIERS, ChannelKind, split_config
from upwatch.core.errors import AppError, ConfigInvalidError, ErrorCode, FieldError
from upwatch.core.merge_patch import merge_patch
from upwatch.models import HeartbeatChannel, MonitorChannel, NotificationChannel
from upwatch.net.guard import AddressNotAllowedError
from upwatch.notify.schemas import ChannelCreate, ChannelPatch, ChannelView
from upwatch.notify.vault import ChannelVault

SETTINGS = ("name", "events", "min_impact", "is_default", "is_enabled", "remind_every_minutes",
            "escalate_after_minutes")  # fmt: skip


async def checked_config(kind: str, config: dict[str, Any], *, public_only: bool) -> dict[str, Any]:
    """The validated config (JSON-ready). Raises ConfigInvalidError or AppError."""
    notifier = NOTIFIERS[kind]
    try:
        model = notifier.config_model.model_validate(config)
    except ValidationError as exc:
        raise ConfigInvalidError(list(exc.errors())) from None
    checked = model.model_dump(mode="json")
    try:
        host = notifier.check(checked)
    except ConfigRefusedError as exc:
        raise _field(exc.field, exc.code, str(exc)) from None
    try:
        await guard_host(host, public_only=public_only)
    except AddressNotAllowedError as exc:
        raise AppError(
            ErrorCode.DESTINATION_NOT_ALLOWED,
            fields=[FieldError(f"config.{notifier.destination_field}", "not_allowed", str(exc))],
        ) from None
    except OSError:
        pass  # a name that does not resolve yet is checked again at send time
    return checked


def _field(name: str, code: str, message: str) -> AppError:
    return AppError(
        ErrorCode.VALIDATION_FAILED, fields=[FieldError(f"config.{name}", code, message)]
    )


async def create(
    session: AsyncSession,
    actor: audit.Actor,
    vault: ChannelVault,
    *,
    organization_id: int,
    data: ChannelCreate,
    config: dict[str, Any],
    now: datetime,
) -> NotificationChannel:
    shown, hidden = split_config(data.kind, config)
    channel = NotificationChannel(
        organization_id=organization_id, name=data.name, kind=str(data.kind), config=shown,
        secret_config=vault.seal(hidden), events=[str(e) for e in data.events],
        min_impact=data.min_impact, is_default=data.is_default, is_enabled=data.is_enabled,
        consecutive_failures=0, remind_every_minutes=data.remind_every_minutes,
        escalate_after_minutes=data.escalate_after_minutes, created_at=now, updated_at=now,
    )  # fmt: skip
    session.add(channel)
    await session.flush()
    changes = audit.created({name: getattr(channel, name) for name in SETTINGS})
    audit.record_for(session, actor, "channel", channel, "channel.create", changes, now)
    return channel


def merged_config(
    vault: ChannelVault, channel: NotificationChannel, given: dict[str, Any]
) -> dict[str, Any]:
    """A PATCH's config (a JSON merge patch) applied to the stored one, secrets included:
    fields it leaves out are kept, `null` removes one."""
    stored = {**channel.config, **vault.secrets_of(channel)}
    merged: dict[str, Any] = merge_patch(stored, given)
    return merged


def change(
    session: AsyncSession,
    actor: audit.Actor,
    vault: ChannelVault,
    channel: NotificationChannel,
    data: ChannelPatch,
    config: dict[str, Any] | None,
    now: datetime,
) -> None:
    changes: dict[str, Any] = {}
    given = data.model_dump(exclude_unset=True)
    for name in SETTINGS:
        if name not in given:
            continue
        value = given[name]
        value = [str(v) for v in value] if name == "events" else value
        if name == "is_enabled" and value and not channel.is_enabled:
            channel.consecutive_failures, channel.disabled_reason = 0, None
        if getattr(channel, name) != value:
            changes[name] = {"from": getattr(channel, name), "to": value}
            setattr(channel, name, value)
    if config is not None:
        changes |= _config_changes(vault, channel, config)
        shown, hidden = split_config(channel.kind, config)
        channel.config, channel.secret_config = shown, vault.seal(hidden)
    if changes:
        channel.updated_at = now
        audit.record_for(session, actor, "channel", channel, "channel.update", changes, now)


def _config_changes(
    vault: ChannelVault, channel: NotificationChannel, config: dict[str, Any]
) -> dict[str, Any]:
    """The public part as `{"from", "to"}`; each changed secret field (`config.url`) as
    `{"redacted": true}`, never its value."""
    fields = NOTIFIERS[channel.kind].secret_fields
    shown, hidden = split_config(channel.kind, config)
    stored = vault.secrets_of(channel)
    secret = [f"config.{name}" for name in fields]
    return audit.diff({"config": channel.config}, {"config": shown}) | audit.diff(
        {f"config.{name}": stored.get(name) for name in fields},
        {f"config.{name}": hidden.get(name) for name in fields},
        secret,
    )


async def remove(
    session: AsyncSession, actor: audit.Actor, channel: NotificationChannel, now: datetime
) -> None:
    audit.record_for(session, actor, "channel", channel, "channel.delete", {}, now)
    await session.delete(channel)


def view(vault: ChannelVault, channel: NotificationChannel) -> ChannelView:
    hidden = vault.secrets_of(channel)
    secret_fields = NOTIFIERS[channel.kind].secret_fields
    return ChannelView(
        id=channel.public_id, name=channel.name, kind=ChannelKind(channel.kind),
        config=channel.config,
        secrets_set={f"has_{name}": name in hidden for name in secret_fields},
        events=channel.events, min_impact=channel.min_impact, is_default=channel.is_default,
        is_enabled=channel.is_enabled, disabled_reason=channel.disabled_reason,
        consecutive_failures=channel.consecutive_failures,
        remind_every_minutes=channel.remind_every_minutes,
        escalate_after_minutes=channel.escalate_after_minutes,
        created_at=channel.created_at, updated_at=channel.updated_at,
    )  # fmt: skip


async def find(
    session: AsyncSession, organization_id: int, public_id: UUID
) -> NotificationChannel | None:
    query = select(NotificationChannel).where(
        NotificationChannel.organization_id == organization_id,
        NotificationChannel.public_id == public_id,
    )
    return (await session.execute(query)).scalar_one_or_none()


async def resolve_ids(
    session: AsyncSession, organization_id: int, public_ids: list[UUID], field: str
) -> list[int]:
    """Internal ids of the organization's channels; 400 naming the first unknown one."""
    if not public_ids:
        return []
    query = select(NotificationChannel.public_id, NotificationChannel.id).where(
        NotificationChannel.organization_id == organization_id,
        NotificationChannel.public_id.in_(public_ids),
    )
    found = {public: internal for public, internal in (await session.execute(query)).all()}  # noqa: C416
    for index, public_id in enumerate(public_ids):
        if public_id not in found:
            raise AppError(
                ErrorCode.VALIDATION_FAILED,
                fields=[FieldError(f"{field}[{index}]", "not_found", "no such channel")],
            )
    return [found[public_id] for public_id in dict.fromkeys(public_ids)]


async def set_subject_channels(
    session: AsyncSession, kind: str, subject_id: int, channel_ids: list[int]
) -> None:
    """Replace the channels chosen for one monitor or heartbeat."""
    if kind == "monitor":
        await session.execute(delete(MonitorChannel).where(MonitorChannel.monitor_id == subject_id))
        session.add_all(MonitorChannel(monitor_id=subject_id, channel_id=c) for c in channel_ids)
    else:
        await session.execute(
            delete(HeartbeatChannel).where(HeartbeatChannel.heartbeat_id == subject_id)
        )
        session.add_all(
            HeartbeatChannel(heartbeat_id=subject_id, channel_id=c) for c in channel_ids
        )


async def subject_channels(session: AsyncSession, kind: str, subject_id: int) -> list[UUID]:
    if kind == "monitor":
        query = (
            select(NotificationChannel.public_id)
            .join(MonitorChannel, MonitorChannel.channel_id == NotificationChannel.id)
            .where(MonitorChannel.monitor_id == subject_id)
        )
    else:
        query = (
            select(NotificationChannel.public_id)
            .join(HeartbeatChannel, HeartbeatChannel.channel_id == NotificationChannel.id)
            .where(HeartbeatChannel.heartbeat_id == subject_id)
        )
    return sorted((await session.execute(query)).scalars(), key=str)
