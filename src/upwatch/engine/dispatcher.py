"""The dispatcher: delivers the outbox, apart from checks (a slow Slack never delays one).

Loop: claim due notifications → `NOTIFIERS[kind]` (`channels/`) renders and sends each →
record the attempt. A claim moves rows from `pending` to `sending` with a lease, in one
transaction: on PostgreSQL the candidate rows are locked `FOR UPDATE SKIP LOCKED`, and the
claiming UPDATE re-checks the status, so two dispatchers (two processes) never take the same
row. A dispatcher that dies mid-send leaves a lease that expires; the row is then claimed
again.

Failures (`TransientDeliveryError`) retry after 30 s, 1, 2 and 4 min (five attempts in all);
permanent ones (`PermanentDeliveryError`: 4xx, refused destination, bad config) stop at
once. Every attempt is logged in `notification_attempts`. A channel or webhook that fails
`channel_failure_limit` times in a row is disabled and the organization's owners are emailed
(when SMTP is configured).

The same loop runs reminders and escalations of open, unacknowledged incidents and the
start/end notices of maintenance windows (`notify/followups.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from upwatch.channels.base import Delivery, Letter, PermanentDeliveryError, Receipt, attempt
from upwatch.channels.registry import NOTIFIERS
from upwatch.channels.render import Renderer
from upwatch.core.clock import Clock
from upwatch.crypto import SecretBox
from upwatch.db.engine import Database
from upwatch.db.outages import is_unavailable
from upwatch.db.unit_of_work import unit_of_work
from upwatch.events import Event, EventBus
from upwatch.logs import get_logger
from upwatch.models import (
    AttemptOutcome,
    Membership,
    Notification,
    NotificationAttempt,
    NotificationChannel,
    NotificationPurpose,
    NotificationStatus,
    User,
    Webhook,
)
from upwatch.net.smtp import Email, email_configured, send_email
from upwatch.notify import doorbell, subscriptions
from upwatch.notify.secrets import webhook_secret
from upwatch.notify.vault import ChannelVault
from upwatch.settings import Settings

RETRY_DELAYS = (timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=2),
                timedelta(minutes=4))  # fmt: skip
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
CLAIM_BATCH = 50
LEASE = timedelta(minutes=2)
RECORD_RETRY_FIRST_SECONDS = 0.5
RECORD_RETRY_MAX_SECONDS = 5.0
SUBSCRIPTION_KIND = "webhook"  # webhook subscriptions are sent by this kind's notifier
log = get_logger("upwatch.dispatcher")


@dataclass(frozen=True, slots=True)
class AttemptReport:
    """What one attempt did, as the API's test endpoints report it."""

    notification_id: str
    status: str  # sent | pending (will retry) | failed
    attempt: int
    delivery: Delivery


class Dispatcher:
    def __init__(
        self,
        database: Database,
        settings: Settings,
        clock: Clock,
        bus: EventBus,
        vault: ChannelVault,
        secret_box: SecretBox,
    ) -> None:
        self._database = database
        self._settings = settings
        self._clock = clock
        self._bus = bus
        self._vault = vault
        self._secret_box = secret_box
        self._urls = subscriptions.UrlVault(secret_box)
        self.renderer = Renderer(settings.templates_dir)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self.followups: Any = None  # set by the engine: reminders, escalations, notices

    def start(self) -> None:
        doorbell.listen(self._wake)
        self._task = asyncio.create_task(self._run(), name="dispatcher")

    async def stop(self) -> None:
        doorbell.forget(self._wake)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                if self.followups is not None:
                    await self.followups.run_once()
                busy = await self.run_once()
            except Exception as exc:
                if is_unavailable(exc):  # an outage: one line per poll, not a traceback
                    log.warning("dispatcher.database_unavailable", error=type(exc).__name__)
                else:
                    log.exception("dispatcher.failed")
                busy = 0
            if busy:
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._settings.dispatch_poll_seconds):
                    await self._wake.wait()
            self._wake.clear()

    async def run_once(self) -> int:
        """Claim and deliver one batch of due notifications; how many were claimed."""
        claimed = await self.claim(CLAIM_BATCH)
        if claimed:
            await asyncio.gather(*(self.deliver(notification_id) for notification_id in claimed))
        return len(claimed)

    async def claim(self, limit: int) -> list[int]:
        now = self._clock.now()
        due = or_(
            and_(
                Notification.status == NotificationStatus.PENDING,
                Notification.next_attempt_at <= now,
            ),
            and_(
                Notification.status == NotificationStatus.SENDING,
                Notification.claimed_until < now,
            ),
        )
        async with unit_of_work(self._database) as session:
            query = (
                select(Notification.id)
                .where(due)
                .order_by(Notification.next_attempt_at, Notification.id)
                .limit(limit)
            )
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            candidates = list((await session.execute(query)).scalars())
            if not candidates:
                return []
            claimed = await session.execute(
                update(Notification)
                .where(Notification.id.in_(candidates), due)
                .values(status=NotificationStatus.SENDING, claimed_until=now + LEASE)
                .returning(Notification.id)
            )
            return list(claimed.scalars())

    async def deliver(self, notification_id: int) -> AttemptReport:
        """Send one claimed notification and record the attempt."""
        async with unit_of_work(self._database) as session:
            notification = await session.get(Notification, notification_id)
            assert notification is not None
            send = await self._prepare(session, notification)
        delivery = await attempt(send)
        return await self._record_when_possible(notification_id, delivery)

    async def _record_when_possible(
        self, notification_id: int, delivery: Delivery
    ) -> AttemptReport:
        """Record the attempt, waiting out a database outage: a delivery that went out just
        as the database went away would otherwise stay `sending`, and be sent again once its
        lease ran out. Given up (sent again later, at least once) only past the lease."""
        wait, give_up = RECORD_RETRY_FIRST_SECONDS, time.monotonic() + LEASE.total_seconds()
        while True:
            try:
                return await self._record(notification_id, delivery)
            except Exception as exc:
                if not is_unavailable(exc) or time.monotonic() + wait > give_up:
                    raise
                log.warning("dispatcher.record_waits_for_database", retry_in=wait)
            await asyncio.sleep(wait)
            wait = min(wait * 2, RECORD_RETRY_MAX_SECONDS)

    async def _prepare(
        self, session: AsyncSession, notification: Notification
    ) -> Callable[[], Awaitable[Receipt]]:
        """The send, rendered and ready to run (no session is held while sending)."""
        test = notification.purpose == NotificationPurpose.TEST
        if notification.webhook_id is not None:
            webhook = await session.get(Webhook, notification.webhook_id)
            assert webhook is not None
            if not webhook.is_enabled and not test:
                return _refuse("the webhook is disabled")
            # A subscription is delivered exactly as a channel of kind `webhook` is.
            kind, config = SUBSCRIPTION_KIND, {"url": self._urls.url_of(webhook)}
        else:
            channel = await session.get(NotificationChannel, notification.channel_id)
            assert channel is not None
            if not channel.is_enabled and not test:
                return _refuse("the channel is disabled")
            kind, config = channel.kind, self._vault.full_config(channel)
        notifier = NOTIFIERS[kind]
        secret = None
        if notifier.signed:
            secret = await webhook_secret(session, self._secret_box, notification.organization_id)
        letter = Letter(
            self._context(notification), notification.event_type, str(notification.public_id),
            self.renderer, secret,
        )  # fmt: skip
        rendered = notifier.render(letter)
        return lambda: notifier.send(config, rendered, self._settings)

    def _context(self, notification: Notification) -> dict[str, Any]:
        """The template context: the stored payload, links made absolute, and the envelope
        that webhooks carry. A subscription's delivery stores its event's envelope as is."""
        if notification.webhook_id is not None:
            return {"envelope": notification.payload}
        payload = dict(notification.payload)
        incident = payload.get("incident")
        base = (self._settings.public_url or "").rstrip("/")
        if incident:
            payload["incident"] = {**incident, "url": f"{base}/api/v1/incidents/{incident['id']}"}
        payload["envelope"] = {
            "id": str(notification.public_id),
            "type": notification.event_type,
            "created_at": payload.get("at"),
            "data": {k: v for k, v in payload.items() if k not in {"emoji", "envelope"}},
        }
        return payload

    async def _record(self, notification_id: int, delivery: Delivery) -> AttemptReport:
        now = self._clock.now()
        events: list[Event] = []
        async with unit_of_work(self._database) as session:
            notification = await session.get(Notification, notification_id)
            assert notification is not None
            notification.attempts += 1
            attempt = notification.attempts
            retry = not delivery.ok and not delivery.permanent and attempt < MAX_ATTEMPTS
            outcome = (
                AttemptOutcome.DELIVERED if delivery.ok
                else AttemptOutcome.RETRY if retry
                else AttemptOutcome.FAILED
            )  # fmt: skip
            session.add(
                NotificationAttempt(
                    notification_id=notification.id, attempt=attempt,
                    started_at=now - timedelta(milliseconds=delivery.duration_ms),
                    duration_ms=delivery.duration_ms, status_code=delivery.status_code,
                    outcome=outcome, error=delivery.error,
                )
            )  # fmt: skip
            notification.claimed_until = None
            notification.last_error = delivery.error
            if delivery.ok:
                notification.status, notification.sent_at = NotificationStatus.SENT, now
                notification.next_attempt_at = None
            elif retry:
                notification.status = NotificationStatus.PENDING
                notification.next_attempt_at = now + RETRY_DELAYS[attempt - 1]
            else:
                notification.status = NotificationStatus.FAILED
                notification.next_attempt_at = None
            if notification.purpose != NotificationPurpose.TEST:
                events = await self._count(session, notification, delivery.ok)
                await subscriptions.enqueue(session, events)
            status = notification.status
            public_id = str(notification.public_id)
        if events:
            with contextlib.suppress(Exception):
                await self._bus.publish(events)
        log.info(
            "notification.attempt", notification=public_id, attempt=attempt, outcome=outcome,
            status_code=delivery.status_code, duration_ms=delivery.duration_ms,
        )  # fmt: skip
        return AttemptReport(public_id, status, attempt, delivery)

    async def _count(
        self, session: AsyncSession, notification: Notification, ok: bool
    ) -> list[Event]:
        """Consecutive failures of the destination; disable it at the limit. The row is
        locked: deliveries to one destination are recorded concurrently, and each must
        count (on SQLite the write transaction already serializes them)."""
        target: NotificationChannel | Webhook | None
        if notification.channel_id is not None:
            target = await session.get(
                NotificationChannel, notification.channel_id, with_for_update=True
            )
        else:
            target = await session.get(Webhook, notification.webhook_id, with_for_update=True)
        if target is None:
            return []
        if ok:
            target.consecutive_failures = 0
            return []
        target.consecutive_failures += 1
        limit = self._settings.channel_failure_limit
        if not target.is_enabled or target.consecutive_failures < limit:
            return []
        target.is_enabled = False
        target.disabled_reason = (
            f"disabled after {limit} failed deliveries in a row; last error: "
            f"{notification.last_error}"
        )[:500]
        target.updated_at = self._clock.now()
        kind = "channel" if isinstance(target, NotificationChannel) else "webhook"
        # A subscription's URL is a secret: the owners are told its host.
        name = target.name if isinstance(target, NotificationChannel) else target.url_host
        owners = await _owner_emails(session, notification.organization_id)
        if owners and email_configured(self._settings):
            task = asyncio.create_task(
                self._tell_owners(owners, kind, name, target.disabled_reason)
            )
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        return [
            Event(
                type=f"{kind}.disabled",
                organization_id=notification.organization_id,
                created_at=self._clock.now(),
                resource_id=str(target.public_id),
                data={f"{kind}_id": str(target.public_id), "reason": target.disabled_reason},
            )
        ]

    async def _tell_owners(self, owners: list[str], kind: str, name: str, reason: str) -> None:
        text = (
            f"Upwatch disabled the {kind} {name!r}.\n\n{reason}\n\n"
            f"Fix the destination, then enable it again (PATCH is_enabled=true)."
        )
        try:
            await send_email(
                self._settings,
                Email(to=", ".join(owners), subject=f"Upwatch: {kind} {name} disabled", text=text),
            )
        except Exception as exc:
            log.warning("dispatcher.owner_email_failed", error=repr(exc))


def _refuse(reason: str) -> Callable[[], Awaitable[Receipt]]:
    async def refused() -> Receipt:
        raise PermanentDeliveryError(reason)

    return refused


async def _owner_emails(session: AsyncSession, organization_id: int) -> list[str]:
    query = (
        select(User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.organization_id == organization_id, Membership.role == "owner")
    )
    return list((await session.execute(query)).scalars())
