"""What `alerting.follow` records when a monitor goes down, against a real migrated
database (SQLite and PostgreSQL): the parts of the rules that are decided from rows
(silences in effect, maintenance windows, a parent monitor's state, stored channels)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from tests.support.engine import World
from upwatch.db.unit_of_work import unit_of_work
from upwatch.models import (
    Alert,
    MaintenanceWindow,
    Monitor,
    MonitorState,
    Notification,
    NotificationChannel,
    Silence,
)
from upwatch.notify.alerting import Trigger, follow

TARGET = "http://127.0.0.1:9/health"  # never checked: the tests hand `follow` the change


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


async def add(world: World, *rows: Any) -> None:
    async with unit_of_work(world.database) as session:
        session.add_all(rows)


def webhook(world: World, **fields: Any) -> NotificationChannel:
    at = now()
    values: dict[str, Any] = {
        "organization_id": world.organization_id,
        "name": "on call",
        "kind": "webhook",
        "config": {"url": "http://127.0.0.1:9/hook"},
        "events": [],
        "min_impact": "none",
        "is_default": True,
        "is_enabled": True,
        "created_at": at,
        "updated_at": at,
        **fields,
    }
    return NotificationChannel(**values)


def silence(world: World, starts_at: datetime, ends_at: datetime, **fields: Any) -> Silence:
    values: dict[str, Any] = {
        "organization_id": world.organization_id,
        "comment": "deploy",
        "monitor_ids": [],
        "heartbeat_ids": [],
        "tags": [],
        "alert_kinds": [],
        "created_at": now(),
        **fields,
    }
    return Silence(starts_at=starts_at, ends_at=ends_at, **values)


async def goes_down(world: World, monitor: Monitor) -> tuple[Alert, list[Notification]]:
    """Follow the monitor's change from up to down; the alert and outbox rows it made."""
    trigger = Trigger(
        "monitor", monitor.id, None, now(), "connection refused", from_status="up",
        to_status="down",
    )  # fmt: skip
    async with unit_of_work(world.database) as session:
        await follow(session, [trigger])
    async with world.database.session() as session:
        alert = (
            await session.execute(select(Alert).where(Alert.monitor_id == monitor.id))
        ).scalar_one()
        query = select(Notification).where(Notification.alert_id == alert.id)
        return alert, list((await session.execute(query)).scalars())


async def test_a_down_monitor_notifies_each_enabled_channel_and_skips_a_disabled_one(
    world: World,
) -> None:
    enabled, disabled = webhook(world, name="enabled"), webhook(world, name="off", is_enabled=False)
    await add(world, enabled, disabled)
    alert, notifications = await goes_down(world, await world.monitor(TARGET))
    assert alert.outcome == "notified"
    assert [(n.channel_id, n.status) for n in notifications] == [(enabled.id, "pending")]


async def test_an_alert_matched_by_a_silence_in_effect_is_recorded_silenced_and_not_sent(
    world: World,
) -> None:
    monitor = await world.monitor(TARGET, tags=["db"])
    await add(
        world,
        webhook(world),
        silence(world, now() - timedelta(hours=1), now() + timedelta(hours=1), tags=["db"]),
    )
    alert, notifications = await goes_down(world, monitor)
    assert alert.outcome == "silenced"
    assert [n.status for n in notifications] == ["silenced"]
    assert notifications[0].next_attempt_at is None


async def test_an_expired_silence_silences_nothing(world: World) -> None:
    monitor = await world.monitor(TARGET)
    over = silence(
        world,
        now() - timedelta(hours=2),
        now() - timedelta(hours=1),
        monitor_ids=[str(monitor.public_id)],
    )
    await add(world, webhook(world), over)
    alert, notifications = await goes_down(world, monitor)
    assert alert.outcome == "notified"
    assert [n.status for n in notifications] == ["pending"]


async def test_a_monitor_in_a_maintenance_window_raises_no_alert(world: World) -> None:
    monitor = await world.monitor(TARGET)
    at = now()
    window = MaintenanceWindow(
        organization_id=world.organization_id, title="upgrade", starts_at=at - timedelta(minutes=5),
        ends_at=at + timedelta(hours=1), timezone="UTC", all_subjects=False,
        monitor_ids=[str(monitor.public_id)], heartbeat_ids=[], tags=[], group_ids=[],
        notify=False, created_at=at, updated_at=at,
    )  # fmt: skip
    await add(world, webhook(world), window)
    alert, notifications = await goes_down(world, monitor)
    assert (alert.outcome, alert.suppressed_by, alert.incident_id) == (
        "suppressed",
        "maintenance",
        None,
    )
    assert notifications == []


async def child_of(world: World, parent_status: str) -> Monitor:
    """A monitor depending on another whose state shows `parent_status`; one channel."""
    parent = await world.monitor(TARGET, name="router")
    child = await world.monitor(TARGET, name="shop")
    async with unit_of_work(world.database) as session:
        await session.execute(
            update(Monitor).where(Monitor.id == child.id).values(depends_on_id=parent.id)
        )
        await session.execute(
            update(MonitorState)
            .where(MonitorState.monitor_id == parent.id)
            .values(status=parent_status)
        )
    await add(world, webhook(world))
    return child


async def test_a_child_whose_parent_is_down_is_suppressed_by_the_dependency(world: World) -> None:
    alert, notifications = await goes_down(world, await child_of(world, "down"))
    assert (alert.outcome, alert.suppressed_by, alert.incident_id) == (
        "suppressed",
        "dependency",
        None,
    )
    assert notifications == []


async def test_a_child_whose_parent_is_up_alerts_as_usual(world: World) -> None:
    alert, notifications = await goes_down(world, await child_of(world, "up"))
    assert (alert.outcome, alert.suppressed_by) == ("notified", None)
    assert len(notifications) == 1
