"""kill -9 of a worker process (`upwatch worker --processes 2`, PostgreSQL) while its monitors
are being checked and are alerting: every transition that calls for an alert has exactly
one, each alert is delivered once to each channel, none is duplicated and none is lost.

A state change, its alert and the alert's outbox rows are written in one transaction, so a
worker killed mid-check loses the whole check (its replacement checks again) or none of it.
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import SettingsFactory
from tests.support.accounts import Seeder
from tests.support.alerting import SETTINGS, LocalHttp, ok, webhook_channel
from tests.support.processes import (
    api_beside_workers,
    children,
    start_workers,
    stopped,
    until,
    upwatch_env,
)

MONITORS = 4
FLIPS = 4  # down, up, down, up: the worker is killed during the second flip
SETTLE_SECONDS = 60.0  # a flip is seen by every monitor within this (bounded polling)


@pytest.fixture
def receivers() -> Iterator[list[LocalHttp]]:
    started = [LocalHttp(), LocalHttp()]
    for receiver in started:
        receiver.start()
    yield started
    for receiver in started:
        receiver.stop()


@pytest.fixture
def target() -> Iterator[LocalHttp]:
    server = LocalHttp(status=200)
    server.start()
    yield server
    server.stop()


def _monitor(api: httpx.Client, target: LocalHttp, index: int) -> str:
    body = {
        "name": f"service {index}",
        "kind": "http",
        "target": target.url(f"/health/{index}"),
        "interval_seconds": 1,
        "failure_threshold": 1,
        "recovery_threshold": 1,
        "spike_threshold_percent": 100_000,  # loopback latencies jitter: no spike alerts
    }
    return str(ok(api.post("/api/v1/monitors", json=body), 201)["id"])


def _all_are(api: httpx.Client, ids: list[str], status: str) -> Callable[[], bool]:
    return lambda: all(ok(api.get(f"/api/v1/monitors/{id_}"))["status"] == status for id_ in ids)


def _alerting_transitions(seed: Seeder) -> dict[str, list[str]]:
    """Per monitor, in order, the state changes that call for an alert: into down, and out
    of down back up."""
    rows = seed.rows(
        "SELECT m.name, c.from_status, c.to_status FROM state_changes c "
        "JOIN monitors m ON m.id = c.monitor_id ORDER BY c.id"
    )
    kinds: dict[str, list[str]] = {}
    for name, came_from, to in rows:
        if to == "down" and came_from != "down":
            kinds.setdefault(str(name), []).append("down")
        elif came_from == "down" and to == "up":
            kinds.setdefault(str(name), []).append("up")
    return kinds


def _alerts(seed: Seeder) -> dict[str, list[str]]:
    rows = seed.rows(
        "SELECT m.name, a.kind FROM alerts a JOIN monitors m ON m.id = a.monitor_id ORDER BY a.id"
    )
    kinds: dict[str, list[str]] = {}
    for name, kind in rows:
        kinds.setdefault(str(name), []).append(str(kind))
    return kinds


def test_kill_9_of_a_worker_while_alerting_loses_and_duplicates_no_alert(
    postgres_url: str,
    make_settings: SettingsFactory,
    receivers: list[LocalHttp],
    target: LocalHttp,
    tmp_path: Path,
    record_property: Callable[[str, object], None],
) -> None:
    seed = Seeder(postgres_url)
    log = tmp_path / "workers.log"
    with api_beside_workers(make_settings, postgres_url, **SETTINGS) as api:
        for receiver in receivers:
            webhook_channel(api, receiver, is_default=True)
        ids = [_monitor(api, target, index) for index in range(MONITORS)]
        workers = start_workers(upwatch_env(postgres_url, tmp_path / "data"), log)
        try:
            until(_all_are(api, ids, "up"), "every monitor up", SETTLE_SECONDS)
            for flip in range(FLIPS):
                status = "down" if flip % 2 == 0 else "up"
                target.status = 500 if status == "down" else 200
                if flip == 1:  # mid-transition: some monitors have recovered, some not yet
                    until(lambda: _alert_count(seed) > MONITORS, "the first up alert")
                    os.kill(children(workers.pid)[0], signal.SIGKILL)
                until(_all_are(api, ids, status), f"every monitor {status}", SETTLE_SECONDS)
            until(lambda: _all_sent(seed), "every notification sent", SETTLE_SECONDS)
        finally:
            code = stopped(workers)
    output = log.read_text()
    assert code == 0, output
    assert output.count('"worker.child_exited"') == 1, output

    transitions, alerts = _alerting_transitions(seed), _alerts(seed)
    notifications = seed.rows(
        "SELECT alert_id, channel_id, status FROM notifications WHERE alert_id IS NOT NULL"
    )
    deliveries = [Counter(hit.delivery for hit in receiver.hits) for receiver in receivers]
    counts = _figures(transitions, alerts, notifications, deliveries)
    print(f"kill -9 of a worker on postgresql: {counts}")
    for name, value in counts.items():
        record_property(name, value)

    assert alerts == transitions  # one alert per transition, in order, for every monitor
    assert all(len(kinds) >= FLIPS for kinds in transitions.values()), transitions
    per_alert_channel = Counter((alert, channel) for alert, channel, _ in notifications)
    assert set(per_alert_channel.values()) == {1}  # one notification per channel per alert
    assert len(per_alert_channel) == counts["alerts"] * len(receivers)
    assert {status for _, _, status in notifications} == {"sent"}
    for received in deliveries:  # each delivered exactly once to each channel
        assert set(received.values()) == {1}
        assert sum(received.values()) == counts["alerts"]


def _alert_count(seed: Seeder) -> int:
    return int(str(seed.scalar("SELECT count(*) FROM alerts")))


def _all_sent(seed: Seeder) -> bool:
    """Every alert of the flips has its notifications, and none is still to be sent."""
    statuses = Counter(str(status) for (status,) in seed.rows("SELECT status FROM notifications"))
    return _alert_count(seed) >= MONITORS * FLIPS and set(statuses) == {"sent"}


def _figures(
    transitions: dict[str, list[str]],
    alerts: dict[str, list[str]],
    notifications: list[tuple[object, ...]],
    deliveries: list[Counter[str]],
) -> dict[str, int]:
    return {
        "transitions": sum(len(kinds) for kinds in transitions.values()),
        "alerts": sum(len(kinds) for kinds in alerts.values()),
        "notifications": len(notifications),
        "deliveries": sum(sum(received.values()) for received in deliveries),
    }
