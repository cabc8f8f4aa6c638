"""Webhook subscriptions: an organization's endpoints that receive its events.

A subscription names event types (`incident.opened`), families (`incident.*`) or `*`. Its
deliveries are outbox rows written **in the transaction that produced the events**
(`enqueue`), so an event that was committed is delivered (at least once; the delivery id
drops duplicates) and an event that was rolled back never leaves. The dispatcher sends them
signed with the organization's webhook secret, like `webhook` channels.

The two high-volume types, one per check and one per ping, are a firehose: a subscription
gets them only by naming them; `*` and `monitor.*` / `heartbeat.*` leave them out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

import orjson
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from upwatch.audit import service as audit
from upwatch.core.clock import isoformat_z
from upwatch.core.ids import uuid7
from upwatch.crypto import SecretBox
from upwatch.db.pagination import keyset_page
from upwatch.events import Event
from upwatch.models import Notification, NotificationPurpose, NotificationStatus, Webhook
from upwatch.notify import doorbell

EVENT_TYPES = (
    "monitor.status_changed",
    "monitor.spike_detected",
    "monitor.check_completed",
    "certificate.expiring",
    "heartbeat.status_changed",
    "heartbeat.missed",
    "heartbeat.pinged",
    "incident.opened",
    "incident.acknowledged",
    "incident.updated",
    "incident.resolved",
    "channel.disabled",
    "webhook.disabled",
)
FIREHOSE = frozenset({"monitor.check_completed", "heartbeat.pinged"})
TEST_EVENT = "webhook.test"
SETTINGS = ("description", "event_types", "is_enabled")  # and the URL, sealed apart
LEASE_FOR_TEST = timedelta(minutes=2)


def is_known_pattern(pattern: str) -> bool:
    if pattern == "*" or pattern in EVENT_TYPES:
        return True
    return pattern.endswith(".*") and any(t.startswith(pattern[:-1]) for t in EVENT_TYPES)


def takes(patterns: Iterable[str], event_type: str) -> bool:
    """Whether a subscription to `patterns` receives events of `event_type`."""
    for pattern in patterns:
        if pattern == event_type:
            return True
        if event_type in FIREHOSE:
            continue
        if pattern == "*" or (pattern.endswith(".*") and event_type.startswith(pattern[:-1])):
            return True
    return False


async def enqueue(session: AsyncSession, events: Sequence[Event]) -> int:
    """Outbox rows for every enabled subscription that takes one of `events`, in the
    caller's transaction; how many. Rings the dispatchers' doorbell when there are any."""
    if not events:
        return 0
    organizations = {event.organization_id for event in events}
    query = select(Webhook.id, Webhook.organization_id, Webhook.event_types).where(
        Webhook.organization_id.in_(organizations), Webhook.is_enabled.is_(True)
    )
    subscribed: dict[int, list[tuple[int, list[str]]]] = defaultdict(list)
    for webhook_id, organization_id, patterns in (await session.execute(query)).all():
        subscribed[organization_id].append((webhook_id, patterns))
    if not subscribed:
        return 0
    rows = [
        _outbox_row(webhook_id, event)
        for event in events
        for webhook_id, patterns in subscribed.get(event.organization_id, ())
        if takes(patterns, event.type)
    ]
    if rows:
        await session.execute(insert(Notification), rows)
        doorbell.ring()
    return len(rows)


def _outbox_row(webhook_id: int, event: Event) -> dict[str, Any]:
    # Through orjson and back: event data may hold datetimes and UUIDs; the column is JSON.
    envelope = orjson.loads(orjson.dumps(event.envelope()))
    return {
        "public_id": uuid7(), "organization_id": event.organization_id, "alert_id": None,
        "channel_id": None, "webhook_id": webhook_id, "purpose": NotificationPurpose.EVENT,
        "event_type": event.type, "payload": envelope, "status": NotificationStatus.PENDING,
        "attempts": 0, "next_attempt_at": event.created_at, "created_at": event.created_at,
    }  # fmt: skip


def test_notification(webhook: Webhook, now: datetime) -> Notification:
    """A `webhook.test` delivery already claimed (status `sending`): only the caller sends it."""
    envelope = {
        "id": str(uuid7()),
        "type": TEST_EVENT,
        "created_at": isoformat_z(now),
        "data": {
            "webhook_id": str(webhook.public_id),
            "message": "This is a test event from Upwatch: if you can read it, the webhook works.",
            "test": True,
        },
    }
    return Notification(
        organization_id=webhook.organization_id, webhook_id=webhook.id,
        purpose=NotificationPurpose.TEST, event_type=TEST_EVENT, payload=envelope,
        status=NotificationStatus.SENDING, attempts=0,
        next_attempt_at=now, claimed_until=now + LEASE_FOR_TEST, created_at=now,
    )  # fmt: skip


# --- the subscriptions themselves -----------------------------------------------------------


class UrlVault:
    """Seals a subscription's URL (a secret: it often carries a token) and opens it for the
    sender and the audited `/secrets` read. The host alone stays readable."""

    def __init__(self, box: SecretBox) -> None:
        self._box = box

    def seal(self, webhook: Webhook, url: str) -> None:
        webhook.secret_url = self._box.encrypt(url.encode())
        webhook.url_host = (urlsplit(url).hostname or "")[:255]

    def url_of(self, webhook: Webhook) -> str:
        return self._box.decrypt(webhook.secret_url).decode()


async def create(
    session: AsyncSession,
    actor: audit.Actor,
    vault: UrlVault,
    *,
    organization_id: int,
    values: dict[str, Any],
    now: datetime,
) -> Webhook:
    url = values.pop("url")
    webhook = Webhook(
        organization_id=organization_id, consecutive_failures=0, created_at=now, updated_at=now,
        **values,
    )  # fmt: skip
    vault.seal(webhook, url)
    session.add(webhook)
    await session.flush()
    settings = audit.created({name: getattr(webhook, name) for name in SETTINGS})
    changes = {"url": audit.REDACTED, **settings}  # a secret: that it was set, never what to
    audit.record_for(session, actor, "webhook", webhook, "webhook.create", changes, now)
    return webhook


def change(
    session: AsyncSession,
    actor: audit.Actor,
    vault: UrlVault,
    webhook: Webhook,
    given: dict[str, Any],
    now: datetime,
) -> None:
    changes: dict[str, Any] = {}
    if "url" in given and given["url"] != vault.url_of(webhook):
        vault.seal(webhook, given["url"])
        changes["url"] = audit.REDACTED  # a secret: that it changed, never what to
    for name in SETTINGS:
        if name not in given or getattr(webhook, name) == given[name]:
            continue
        if name == "is_enabled" and given[name]:
            webhook.consecutive_failures, webhook.disabled_reason = 0, None
        changes[name] = {"from": getattr(webhook, name), "to": given[name]}
        setattr(webhook, name, given[name])
    if changes:
        webhook.updated_at = now
        audit.record_for(session, actor, "webhook", webhook, "webhook.update", changes, now)


async def remove(
    session: AsyncSession, actor: audit.Actor, webhook: Webhook, now: datetime
) -> None:
    audit.record_for(session, actor, "webhook", webhook, "webhook.delete", {}, now)
    await session.delete(webhook)


async def find(session: AsyncSession, organization_id: int, public_id: UUID) -> Webhook | None:
    query = select(Webhook).where(
        Webhook.organization_id == organization_id, Webhook.public_id == public_id
    )
    return (await session.execute(query)).scalar_one_or_none()


async def page(
    session: AsyncSession, organization_id: int, *, limit: int, after: UUID | None
) -> tuple[list[Webhook], UUID | None]:
    query = select(Webhook).where(Webhook.organization_id == organization_id)
    rows, next_key = await keyset_page(
        session, query, Webhook.public_id, limit=limit, after=after, descending=False
    )
    return [row[0] for row in rows], next_key
