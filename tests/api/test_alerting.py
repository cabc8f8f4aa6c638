"""The alerting pipeline end to end, over real HTTP on each backend.

A state change (a monitor checked against a real local target, or a heartbeat's failure
ping) records an alert and its outbox rows in its own transaction; the app's dispatcher
then delivers them to real receivers on loopback: a threaded `http.server` that records
every request and answers a scripted sequence of statuses, and an aiosmtpd mailbox.

Tests that move time run the app on a `ManualClock`: the dispatcher compares
`next_attempt_at` with that clock, and the follow-ups (escalations) measure an incident's
age with it. Nothing else waits on a fixed sleep except `stays_quiet`, which is how a test
says "nothing more arrives": it is always paired with a control message that did arrive,
sent after whatever must not be, so the dispatcher has already passed over it.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import SettingsFactory
from tests.support.accounts import Seeder
from tests.support.alerting import (
    ALERTS,
    CHANNELS,
    HEARTBEATS,
    INCIDENTS,
    MONITORS,
    SETTINGS,
    SILENCES,
    WINDOWS,
    Local,
    Start,
    about,
    alerts,
    alerts_of,
    arrived,
    check,
    create_heartbeat,
    create_monitor,
    delivery_settled,
    eventually,
    manual_clock,
    ok,
    only_alert,
    open_incidents,
    parse,
    ping,
    stays_quiet,
    webhook_channel,
    webhook_secret,
    z,
)
from tests.support.server import serving
from tests.support.smtp import smtp_server
from upwatch.api.app import create_app
from upwatch.channels.signing import verify
from upwatch.core.clock import SystemClock
from upwatch.crypto import SecretBox, resolve_secret_key
from upwatch.db.engine import Database
from upwatch.db.unit_of_work import unit_of_work
from upwatch.engine.dispatcher import Dispatcher
from upwatch.events import MemoryEventBus
from upwatch.models import Notification, NotificationChannel, Organization
from upwatch.notify.alerting import outbox_row
from upwatch.notify.vault import ChannelVault
from upwatch.settings import Settings

# A real uvicorn server: deliveries to local receivers while requests are held open.
pytestmark = pytest.mark.real_server

# --- 1. down and up, webhook and email ------------------------------------------------------


def test_a_monitor_going_down_and_up_sends_one_signed_webhook_and_one_email_each_way(
    local: Local, start: Start
) -> None:
    target = local(status=200)
    receiver = local()
    with smtp_server() as mailbox:
        app = start(
            run_checks=True,
            min_interval_seconds=1,
            smtp_host="127.0.0.1",
            smtp_port=mailbox.port,
            smtp_security="none",
        )
        http = app.http
        secret = webhook_secret(http)
        webhook_channel(http, receiver, is_default=True)
        email = {"name": "on call", "kind": "email", "config": {"to": ["oncall@example.com"]}}
        ok(http.post(CHANNELS, json={**email, "is_default": True}), 201)
        body = {
            "name": "Checkout API",
            "kind": "http",
            "target": target.url("/health"),
            "interval_seconds": 1,
            "failure_threshold": 2,
            "recovery_threshold": 1,
            # Loopback latencies jitter by multiples: no response-time spike alerts here.
            "spike_threshold_percent": 100_000,
        }
        monitor = ok(http.post(MONITORS, json=body), 201)
        path = f"{MONITORS}/{monitor['id']}"

        eventually(lambda: ok(http.get(path))["status"] == "up", "the monitor up")
        assert alerts(http) == []
        target.status = 500

        [down] = arrived(receiver, 1, "the monitor.down webhook")
        eventually(lambda: len(mailbox.messages) >= 1, "the down email")
        assert ok(http.get(path))["status"] == "down"
        assert down.method == "POST"
        assert verify(secret, down.headers["upwatch-signature"], down.body, now=time.time())
        assert not verify(
            "whsec_wrong", down.headers["upwatch-signature"], down.body, now=time.time()
        )
        assert down.event == "monitor.down"
        envelope = down.json()
        assert envelope["type"] == "monitor.down"
        assert envelope["id"] == down.delivery
        data = envelope["data"]
        assert data["subject"]["id"] == monitor["id"]
        assert data["title"] == "Checkout API is down"
        incident = data["incident"]
        assert incident is not None
        assert incident["id"]
        assert incident["state"] == "investigating"
        [down_mail] = mailbox.messages
        assert "Checkout API" in down_mail["Subject"]
        assert "down" in down_mail["Subject"]
        assert down_mail["To"] == "oncall@example.com"

        [active] = alerts(http, f"{ALERTS}/active")
        assert (active["kind"], active["monitor_id"]) == ("down", monitor["id"])
        assert active["incident_id"] == incident["id"]

        acknowledged = ok(http.post(f"{INCIDENTS}/{incident['id']}/acknowledge"))
        assert acknowledged["acknowledged_at"] is not None
        target.status = 200

        hits = arrived(receiver, 2, "the monitor.up webhook")
        eventually(lambda: len(mailbox.messages) >= 2, "the up email")
        up = hits[1]
        assert verify(secret, up.headers["upwatch-signature"], up.body, now=time.time())
        assert up.event == "monitor.up"
        assert up.json()["type"] == "monitor.up"
        assert up.json()["data"]["incident"]["id"] == incident["id"]
        assert up.delivery != down.delivery
        up_mail = mailbox.messages[1]
        assert "Checkout API" in up_mail["Subject"]
        assert "up again" in up_mail["Subject"]

        def both_sent() -> list[dict[str, Any]] | None:
            found = alerts(http)
            settled = all(d["status"] == "sent" for alert in found for d in alert["deliveries"])
            return found if settled and len(found) == 2 else None

        newest, oldest = eventually(both_sent, "both alerts delivered")
        assert (oldest["kind"], newest["kind"]) == ("down", "up")
        for alert, event in ((oldest, "monitor.down"), (newest, "monitor.up")):
            assert alert["outcome"] == "notified"
            assert alert["suppressed_by"] is None
            assert alert["monitor_id"] == monitor["id"]
            assert alert["incident_id"] == incident["id"]
            assert len(alert["deliveries"]) == 2  # the webhook and the email
            for delivery in alert["deliveries"]:
                assert (delivery["event_type"], delivery["attempts"]) == (event, 1)
                assert [entry["outcome"] for entry in delivery["log"]] == ["delivered"]
        assert {d["id"] for d in oldest["deliveries"]} >= {down.delivery}
        assert {d["id"] for d in newest["deliveries"]} >= {up.delivery}
        assert oldest["resolved_at"] is not None
        assert alerts(http, f"{ALERTS}/active") == []

        # Checks go on every second; the monitor stays up and no one is told anything more.
        stays_quiet([receiver], 1.5)
        assert [hit.event for hit in receiver.hits] == ["monitor.down", "monitor.up"]
        assert len(mailbox.messages) == 2


# --- 2. retries on the (manual) clock -----------------------------------------------------


def test_a_failed_delivery_is_retried_on_the_clock_with_the_same_delivery_id_until_it_succeeds(
    local: Local, start: Start
) -> None:
    receiver = local(script=[500, 500, 200])
    clock = manual_clock()
    app = start(clock=clock)
    http = app.http
    webhook_channel(http, receiver, is_default=True)
    heartbeat = create_heartbeat(http, "nightly backup")

    ping(http, heartbeat, "fail")

    [first] = arrived(receiver, 1, "the first attempt")
    pending = eventually(
        lambda: delivery_settled(http, heartbeat, "pending", 1), "the first attempt recorded"
    )
    delivery = pending["deliveries"][0]
    assert parse(delivery["next_attempt_at"]) == clock.now() + timedelta(seconds=30)
    assert first.event == "heartbeat.down"
    assert first.json()["type"] == "heartbeat.down"
    stays_quiet([receiver], 0.6)  # not due until the clock says so

    clock.advance(30)
    arrived(receiver, 2, "the second attempt, 30 s later")
    pending = eventually(
        lambda: delivery_settled(http, heartbeat, "pending", 2), "the second attempt recorded"
    )
    assert parse(pending["deliveries"][0]["next_attempt_at"]) == clock.now() + timedelta(seconds=60)
    stays_quiet([receiver], 0.6)

    clock.advance(60)
    hits = arrived(receiver, 3, "the third attempt, a minute later")

    alert = eventually(
        lambda: delivery_settled(http, heartbeat, "sent", 3), "the delivery marked sent"
    )
    assert len(hits) == 3
    assert {hit.delivery for hit in hits} == {delivery["id"]}
    assert len({hit.body for hit in hits}) == 1  # the same message each time
    [sent] = alert["deliveries"]
    assert [entry["outcome"] for entry in sent["log"]] == ["retry", "retry", "delivered"]
    assert [entry["status_code"] for entry in sent["log"]] == [500, 500, 200]
    assert [entry["attempt"] for entry in sent["log"]] == [1, 2, 3]
    assert "500" in (sent["log"][0]["error"] or "")
    assert sent["next_attempt_at"] is None
    assert parse(sent["sent_at"]) == clock.now()
    assert alert["outcome"] == "notified"


def test_a_webhook_answering_400_is_tried_once_and_marked_failed(
    local: Local, start: Start
) -> None:
    receiver = local(status=400)
    clock = manual_clock()
    app = start(clock=clock)
    http = app.http
    webhook_channel(http, receiver, is_default=True)
    heartbeat = create_heartbeat(http, "invoice run")

    ping(http, heartbeat, "fail")

    [hit] = arrived(receiver, 1, "the only attempt")
    alert = eventually(
        lambda: delivery_settled(http, heartbeat, "failed", 1), "the delivery marked failed"
    )
    [failed] = alert["deliveries"]
    assert failed["id"] == hit.delivery
    assert failed["next_attempt_at"] is None
    assert failed["sent_at"] is None
    assert "400" in (failed["last_error"] or "")
    assert [(e["outcome"], e["status_code"]) for e in failed["log"]] == [("failed", 400)]

    clock.advance(10 * 60)  # past every retry delay
    stays_quiet([receiver])
    assert len(receiver.hits) == 1
    assert delivery_settled(http, heartbeat, "failed", 1) is not None


# --- 3. maintenance -----------------------------------------------------------------------


def test_a_maintenance_window_that_starts_at_once_announces_its_start_once(
    local: Local, start: Start
) -> None:
    """A window whose start is already past when it is created (a client's "now" a moment
    ago) is in effect at once: its start notice must still go out."""
    receiver = local()
    app = start()
    webhook_channel(app.http, receiver, is_default=True)
    stays_quiet([receiver])  # the dispatcher's follow-up passes are running

    now = datetime.now(UTC)
    window = {
        "title": "router swap",
        "starts_at": z(now - timedelta(minutes=1)),
        "ends_at": z(now + timedelta(hours=1)),
        "all_subjects": True,
        "notify": True,
    }
    assert ok(app.http.post(WINDOWS, json=window), 201)["active"] is True

    [hit] = arrived(receiver, 1, "the start notice")
    assert hit.event == "maintenance.started"
    assert "router swap" in hit.body.decode()
    stays_quiet([receiver])
    assert len(receiver.hits) == 1


def test_going_down_in_a_maintenance_window_alerts_no_one_and_opens_no_incident(
    local: Local, start: Start
) -> None:
    receiver = local()
    target = local(status=200)
    app = start()
    http = app.http
    webhook_channel(http, receiver, is_default=True)
    monitor = create_monitor(http, "Billing", target)
    covered = create_heartbeat(http, "covered job")
    control = create_heartbeat(http, "control job")
    assert check(http, monitor)["status"] == "up"

    now = datetime.now(UTC)
    window = {
        "title": "database upgrade",
        "starts_at": z(now - timedelta(minutes=1)),
        "ends_at": z(now + timedelta(hours=1)),
        "monitor_ids": [monitor["id"]],
        "heartbeat_ids": [covered["id"]],
    }
    assert ok(http.post(WINDOWS, json=window), 201)["active"] is True

    target.status = 500
    checked = check(http, monitor)
    ping(http, covered, "fail")
    ping(http, control, "fail")  # not covered: its alert goes out, after the others

    [hit] = arrived(receiver, 1, "the control's alert")
    assert about(hit, control)
    stays_quiet([receiver])
    assert len(receiver.hits) == 1

    # The monitor's checks go on, failing; it reads `maintenance`, not down.
    assert checked["status"] == "maintenance"
    assert ok(http.get(f"{MONITORS}/{monitor['id']}"))["status"] == "maintenance"
    assert alerts_of(http, monitor) == []
    assert open_incidents(http, monitor) == []
    # The heartbeat (not the engine's to judge) does go down: its alert is suppressed.
    assert ok(http.get(f"{HEARTBEATS}/{covered['id']}"))["status"] == "down"
    suppressed = only_alert(http, covered)
    assert (suppressed["kind"], suppressed["outcome"]) == ("down", "suppressed")
    assert suppressed["suppressed_by"] == "maintenance"
    assert suppressed["incident_id"] is None
    assert suppressed["deliveries"] == []
    assert open_incidents(http, covered) == []
    assert control["id"] in {a["heartbeat_id"] for a in alerts(http, f"{ALERTS}/active")}
    assert only_alert(http, control)["outcome"] == "notified"
    assert len(open_incidents(http, control)) == 1


# --- 4. silences ----------------------------------------------------------------------------


def test_a_silenced_alert_is_recorded_with_silenced_deliveries_and_sent_nowhere(
    local: Local, start: Start
) -> None:
    receiver = local()
    app = start()
    http = app.http
    channel = webhook_channel(http, receiver, is_default=True)
    silenced = create_heartbeat(http, "report export")
    control = create_heartbeat(http, "mail queue")
    silence = {
        "comment": "known flaky while we migrate",
        "ends_at": z(datetime.now(UTC) + timedelta(hours=1)),
        "heartbeat_ids": [silenced["id"]],
    }
    assert ok(http.post(SILENCES, json=silence), 201)["active"] is True

    ping(http, silenced, "fail")
    ping(http, control, "fail")

    [hit] = arrived(receiver, 1, "the control's alert")
    assert about(hit, control)
    stays_quiet([receiver])
    assert len(receiver.hits) == 1

    alert = only_alert(http, silenced)
    assert (alert["kind"], alert["outcome"]) == ("down", "silenced")
    assert alert["suppressed_by"] is None
    assert alert["incident_id"] is not None  # silencing mutes messages, not incidents
    [delivery] = alert["deliveries"]
    assert delivery["status"] == "silenced"
    assert delivery["channel_id"] == channel["id"]
    assert (delivery["attempts"], delivery["log"], delivery["sent_at"]) == (0, [], None)
    assert only_alert(http, control)["outcome"] == "notified"


# --- 5. dependencies ------------------------------------------------------------------------


def test_a_monitor_whose_parent_is_down_raises_no_alert_or_incident_of_its_own(
    local: Local, start: Start
) -> None:
    receiver = local()
    router, service = local(status=200), local(status=200)
    app = start()
    http = app.http
    webhook_channel(http, receiver, is_default=True)
    parent = create_monitor(http, "Core router", router)
    child = create_monitor(http, "Web app", service, depends_on_id=parent["id"])
    assert child["depends_on_id"] == parent["id"]
    assert check(http, parent)["status"] == "up"
    assert check(http, child)["status"] == "up"

    router.status = 500
    assert check(http, parent)["status"] == "down"
    service.status = 500
    assert check(http, child)["status"] == "down"

    [hit] = arrived(receiver, 1, "the parent's alert")
    assert hit.event == "monitor.down"
    assert about(hit, parent)
    stays_quiet([receiver])
    assert len(receiver.hits) == 1

    sent = only_alert(http, parent)
    assert (sent["outcome"], sent["suppressed_by"]) == ("notified", None)
    assert len(open_incidents(http, parent)) == 1
    suppressed = only_alert(http, child)
    assert (suppressed["kind"], suppressed["outcome"]) == ("down", "suppressed")
    assert suppressed["suppressed_by"] == "dependency"
    assert suppressed["incident_id"] is None
    assert suppressed["deliveries"] == []
    assert open_incidents(http, child) == []


# --- 6. escalation --------------------------------------------------------------------------


def test_an_escalation_channel_hears_of_an_unacknowledged_incident_only_after_its_delay(
    local: Local, start: Start
) -> None:
    first_line, escalation = local(), local()
    clock = manual_clock()
    app = start(clock=clock)
    http = app.http
    webhook_channel(http, first_line, is_default=True)
    webhook_channel(http, escalation, is_default=True, escalate_after_minutes=5)
    heartbeat = create_heartbeat(http, "payroll sync")

    ping(http, heartbeat, "fail")

    [down] = arrived(first_line, 1, "the first-line alert")
    assert down.event == "heartbeat.down"
    stays_quiet([first_line, escalation], 0.6)
    assert escalation.hits == []

    clock.advance(4 * 60 + 59)
    stays_quiet([first_line, escalation], 0.6)
    assert escalation.hits == []

    clock.advance(1)
    [escalated] = arrived(escalation, 1, "the escalation, five minutes on")
    envelope = escalated.json()
    assert escalated.event == "heartbeat.down"
    assert envelope["data"]["title"].startswith("Escalated")
    assert "payroll sync is down" in envelope["data"]["title"]
    assert envelope["data"]["purpose"] == "escalation"
    assert envelope["data"]["incident"] is not None
    stays_quiet([first_line, escalation], 0.6)  # once per incident
    assert len(escalation.hits) == 1
    assert len(first_line.hits) == 1

    def both_sent() -> list[tuple[str, str, str]] | None:
        deliveries = only_alert(http, heartbeat)["deliveries"]
        found = sorted((d["purpose"], d["status"], d["id"]) for d in deliveries)
        return found if all(status == "sent" for _, status, _ in found) else None

    [(first_purpose, _, _), (later_purpose, _, later_id)] = eventually(
        both_sent, "the escalation recorded as sent"
    )
    assert (first_purpose, later_purpose) == ("alert", "escalation")
    assert later_id == escalated.delivery

    # Told of the problem, the escalation channel hears of the recovery too.
    ping(http, heartbeat)
    arrived(first_line, 2, "the first-line recovery")
    [_, recovered] = arrived(escalation, 2, "the escalation channel's recovery")
    assert recovered.event == "heartbeat.up"


def test_acknowledging_an_incident_in_time_prevents_its_escalation(
    local: Local, start: Start
) -> None:
    first_line, escalation = local(), local()
    clock = manual_clock()
    app = start(clock=clock)
    http = app.http
    webhook_channel(http, first_line, is_default=True)
    webhook_channel(http, escalation, is_default=True, escalate_after_minutes=5)
    handled = create_heartbeat(http, "handled job")
    ignored = create_heartbeat(http, "ignored job")
    ping(http, handled, "fail")
    ping(http, ignored, "fail")
    arrived(first_line, 2, "both first-line alerts")

    incident_id = only_alert(http, handled)["incident_id"]
    assert incident_id is not None
    ok(http.post(f"{INCIDENTS}/{incident_id}/acknowledge"))
    clock.advance(5 * 60)

    # One follow-up pass looks at both incidents: the ignored one escalates, so the
    # acknowledged one was passed over in that same pass.
    [escalated] = arrived(escalation, 1, "the unacknowledged incident's escalation")
    assert about(escalated, ignored)
    assert escalated.json()["data"]["title"].startswith("Escalated")
    clock.advance(60)
    stays_quiet([escalation])
    assert len(escalation.hits) == 1
    assert [d["purpose"] for d in only_alert(http, handled)["deliveries"]] == ["alert"]


# --- 7. two dispatchers on PostgreSQL -------------------------------------------------------


FAILING_HEARTBEATS = 10  # real alerts, one notification each
EXTRA_ROWS = 80  # outbox rows written directly: with those, two claim batches (of 50) to share


def test_two_dispatchers_on_postgresql_send_each_notification_once(
    local: Local, make_settings: SettingsFactory, postgres_url: str, tmp_path: Path
) -> None:
    receiver = local()
    settings = make_settings(
        database_url=postgres_url, data_dir=tmp_path / "shared", run_dispatcher=False, **SETTINGS
    )
    seed = Seeder(settings.effective_database_url)
    with serving(create_app(settings)) as base_url:
        tenant = seed.tenant()
        headers = {"Authorization": f"Bearer {tenant.owner.token}"}
        with httpx.Client(base_url=base_url, headers=headers, timeout=30) as http:
            channel = webhook_channel(http, receiver, is_default=True)
            for number in range(FAILING_HEARTBEATS):
                ping(http, create_heartbeat(http, f"job {number}"), "fail")

    async def load_and_dispatch() -> tuple[list[Notification], list[int]]:
        database = Database(settings.effective_database_url)
        try:
            async with unit_of_work(database) as session:
                row = (
                    await session.execute(
                        select(NotificationChannel).where(
                            NotificationChannel.public_id == channel["id"]
                        )
                    )
                ).scalar_one()
                organization_id = (
                    await session.execute(
                        select(Organization.id).where(
                            Organization.public_id == tenant.organization_id
                        )
                    )
                ).scalar_one()
                now = datetime.now(UTC)
                for number in range(EXTRA_ROWS):
                    payload = {
                        "event_type": "monitor.down", "kind": "down", "emoji": "",
                        "title": f"load {number}", "reason": "load", "impact": "major",
                        "at": z(now), "alert_id": None, "subject": None,
                        "latency_ms": None, "incident": None, "test": False,
                    }  # fmt: skip
                    session.add(
                        outbox_row(
                            None, row.id, payload, purpose="alert",
                            organization_id=organization_id,
                        )
                    )  # fmt: skip
            counts = await _two_dispatchers(settings)
            async with database.session() as session:
                found = await session.execute(select(Notification).order_by(Notification.id))
                return list(found.scalars()), counts
        finally:
            await database.dispose()

    notifications, counts = asyncio.run(load_and_dispatch())

    assert len(notifications) == FAILING_HEARTBEATS + EXTRA_ROWS
    assert {(n.status, n.attempts) for n in notifications} == {("sent", 1)}
    delivered = [hit.delivery for hit in receiver.hits]
    assert len(delivered) == len(notifications)
    assert sorted(delivered) == sorted(str(n.public_id) for n in notifications)
    assert sum(counts) == len(notifications)  # each claimed by exactly one


async def _two_dispatchers(settings: Settings) -> list[int]:
    """Run two dispatchers, each with its own database pool, until nothing is pending;
    how many notifications each claimed."""
    key = resolve_secret_key(settings)
    databases = [Database(settings.effective_database_url) for _ in range(2)]
    dispatchers = [
        Dispatcher(
            database,
            settings,
            SystemClock(),
            MemoryEventBus(),
            ChannelVault(SecretBox(key, "channel-secrets")),
            SecretBox(key, "webhook-secrets"),
        )
        for database in databases
    ]
    counts = [0, 0]
    go = asyncio.Event()

    async def work(index: int) -> None:
        await go.wait()
        idle = 0
        while idle < 3:  # three empty claims in a row: nothing left for this one
            claimed = await dispatchers[index].run_once()
            counts[index] += claimed
            idle = 0 if claimed else idle + 1
            await asyncio.sleep(0)

    try:
        async with asyncio.timeout(60):
            tasks = [asyncio.create_task(work(index)) for index in range(2)]
            go.set()
            await asyncio.gather(*tasks)
    finally:
        for database in databases:
            await database.dispose()
    return counts
