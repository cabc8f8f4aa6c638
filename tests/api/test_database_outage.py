"""The API while its PostgreSQL is stopped: 503 `SERVICE_UNAVAILABLE` with `Retry-After` for
every request that needs the database, and the service as before once it is back."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import SettingsFactory
from tests.support.accounts import Seeder, Tenant
from tests.support.alerting import (
    MONITORS,
    SETTINGS,
    Local,
    LocalHttp,
    Start,
    arrived,
    create_heartbeat,
    create_monitor,
    delivery_settled,
    eventually,
    manual_clock,
    ok,
    ping,
    stays_quiet,
    webhook_channel,
)
from tests.support.private_postgres import PrivatePostgres
from tests.support.server import serving
from upwatch.api.app import create_app
from upwatch.engine.dispatcher import LEASE


@pytest.fixture
def owner(
    private_postgres: PrivatePostgres, make_settings: SettingsFactory
) -> Iterator[tuple[httpx.Client, Tenant]]:
    settings = make_settings(database_url=private_postgres.migrated())
    with serving(create_app(settings)) as base_url:
        tenant = Seeder(settings.effective_database_url).tenant()
        headers = {"Authorization": f"Bearer {tenant.owner.token}"}
        with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
            yield client, tenant


# Checks every second, alerts delivered to loopback receivers.
CHECKING: dict[str, Any] = {**SETTINGS, "run_checks": True, "min_interval_seconds": 1}


def _unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "SERVICE_UNAVAILABLE"
    assert int(response.headers["retry-after"]) > 0
    assert response.headers["x-request-id"]


def test_api_requests_during_a_database_outage_answer_503_with_retry_after(
    private_postgres: PrivatePostgres, owner: tuple[httpx.Client, Tenant]
) -> None:
    client, _ = owner
    ok(client.get(MONITORS))  # a pooled connection exists: the outage cuts it
    private_postgres.stop()
    try:
        _unavailable(client.get(MONITORS))
        _unavailable(client.post(MONITORS, json={"name": "x", "kind": "http",
                                                 "target": "http://127.0.0.1:9/"}))  # fmt: skip
        _unavailable(client.get("/api/v1/me"))
        ready = client.get("/health/ready")
        _unavailable(ready)
        assert ready.json()["checks"] == {"database": "unavailable"}
    finally:
        private_postgres.start()
    eventually(lambda: client.get(MONITORS).status_code == 200, "the API serving again")


# --- the fault-injection run: checks, alerts and pings across a stopped database -----------

MONITOR_COUNT = 3
HITS_WHILE_AWAY = 3  # checks each monitor makes of each target state while the database is away


@dataclass
class Watched:
    monitor: dict[str, Any]
    target: LocalHttp


def _watch(http: httpx.Client, name: str, target: LocalHttp) -> Watched:
    """A monitor of `target` checked every second: down after one failure, up after one
    success."""
    fields = {"interval_seconds": 1, "timeout_ms": 800, "execution_mode": "background"}
    return Watched(create_monitor(http, name, target, **fields), target)


def _checked(targets: list[LocalHttp], status: int, more: int, what: str) -> None:
    """Wait until every target has answered `more` further checks with `status`."""
    before = [len(target.hits) for target in targets]
    for target, seen in zip(targets, before, strict=True):
        target.status = status
        eventually(lambda t=target, s=seen: len(t.hits) >= s + more, what)  # type: ignore[misc]


def _per_monitor(seed: Seeder, sql: str) -> dict[str, list[tuple[object, ...]]]:
    found: dict[str, list[tuple[object, ...]]] = {}
    for public_id, *rest in seed.rows(sql):
        found.setdefault(str(public_id), []).append(tuple(rest))
    return found


STATE_CHANGES = """SELECT m.public_id, s.from_status, s.to_status FROM state_changes s
JOIN monitors m ON m.id = s.monitor_id ORDER BY s.created_at"""
INCIDENT_STATES = """SELECT m.public_id, i.state FROM incidents i
JOIN monitors m ON m.id = i.monitor_id ORDER BY i.id"""
RESULT_COUNTS = """SELECT m.public_id, count(*) FROM check_results r
JOIN monitors m ON m.id = r.monitor_id GROUP BY m.public_id"""


def _alerts_sent(receiver: LocalHttp, event: str) -> dict[str, list[bool]]:
    """The `late` mark of each alert of this event type the receiver got, by monitor."""
    sent: dict[str, list[bool]] = {}
    for hit in receiver.hits:
        if hit.event == event:
            data = hit.json()["data"]
            sent.setdefault(data["subject"]["id"], []).append(data["late"])
    return sent


def test_monitors_that_go_down_while_the_database_is_stopped_alert_once_late_and_lose_nothing(
    private_postgres: PrivatePostgres, make_settings: SettingsFactory, local: Local
) -> None:
    settings = make_settings(database_url=private_postgres.migrated(), **CHECKING)
    receiver = local()
    seed = Seeder(settings.effective_database_url)
    tenant = seed.tenant()
    headers = {"Authorization": f"Bearer {tenant.owner.token}"}
    with (
        serving(create_app(settings)) as base_url,
        httpx.Client(base_url=base_url, timeout=30, headers=headers) as http,
    ):
        webhook_channel(http, receiver, is_default=True)
        watched = [_watch(http, f"site {n}", local()) for n in range(MONITOR_COUNT)]
        targets = [w.target for w in watched]
        eventually(lambda: all(_status(http, w) == "up" for w in watched), "every monitor up")

        private_postgres.stop()
        try:
            _checked(targets, 200, HITS_WHILE_AWAY, "checks while the database is away")
            _checked(targets, 500, HITS_WHILE_AWAY, "failed checks while the database is away")
        finally:
            private_postgres.start()

        down = eventually(
            lambda: _every(_alerts_sent(receiver, "monitor.down"), watched),
            "a down alert per monitor after the database is back",
            within=30,
        )
        assert down == {w.monitor["id"]: [True] for w in watched}  # once each, marked late
        assert _alerts_listed(http, "down") == down  # the API shows the mark too
        changes = _per_monitor(seed, STATE_CHANGES)
        for w in watched:
            assert changes[w.monitor["id"]] == [("pending", "up"), ("up", "down")]
        assert _per_monitor(seed, INCIDENT_STATES) == {
            w.monitor["id"]: [("investigating",)] for w in watched
        }

        for target in targets:
            target.status = 200
        up = eventually(
            lambda: _every(_alerts_sent(receiver, "monitor.up"), watched),
            "an up alert per monitor once the targets are back",
        )
        assert up == {w.monitor["id"]: [False] for w in watched}
        assert _alerts_listed(http, "up") == up
    # The app is stopped: every check it made is written (or it would be in the spool).
    changes = _per_monitor(seed, STATE_CHANGES)
    for w in watched:
        assert changes[w.monitor["id"]] == [("pending", "up"), ("up", "down"), ("down", "up")]
    assert _per_monitor(seed, INCIDENT_STATES) == {
        w.monitor["id"]: [("resolved",)] for w in watched
    }
    assert _alerts_sent(receiver, "monitor.down") == down  # nothing sent twice
    results = {
        public_id: rows[0][0] for public_id, rows in _per_monitor(seed, RESULT_COUNTS).items()
    }
    assert results == {w.monitor["id"]: len(w.target.hits) for w in watched}


def _alerts_listed(http: httpx.Client, kind: str) -> dict[str, list[bool]]:
    """The `late` mark of each alert of this kind `GET /alerts` lists, by monitor."""
    listed: dict[str, list[bool]] = {}
    for alert in ok(http.get("/api/v1/alerts", params={"kind": kind}))["data"]:
        listed.setdefault(alert["monitor_id"], []).append(alert["late"])
    return listed


def _status(http: httpx.Client, watched: Watched) -> str:
    return str(ok(http.get(f"{MONITORS}/{watched.monitor['id']}"))["status"])


def _every(sent: dict[str, list[bool]], watched: list[Watched]) -> dict[str, list[bool]] | None:
    return sent if all(w.monitor["id"] in sent for w in watched) else None


@pytest.fixture
def database_url(private_postgres: PrivatePostgres) -> str:
    """For `start`: a database on the private server, which these tests stop."""
    return private_postgres.migrated()


PINGS_EACH_PHASE = 5


def test_pings_during_an_outage_answer_503_and_every_acknowledged_ping_is_stored(
    private_postgres: PrivatePostgres, start: Start
) -> None:
    app = start()
    heartbeat = create_heartbeat(app.http, "nightly backup")
    path = urlsplit(heartbeat["ping_url"]).path
    answers = [app.http.post(path).status_code for _ in range(PINGS_EACH_PHASE)]
    private_postgres.stop()
    try:
        refused = [app.http.post(path) for _ in range(PINGS_EACH_PHASE)]
    finally:
        private_postgres.start()
    for response in refused:
        _unavailable(response)
    # The client retries what was refused, as curl --retry does.
    retried = eventually(lambda: _true(app.http.post(path).status_code == 200), "a ping stored")
    answers += [200 if retried else 0]
    answers += [app.http.post(path).status_code for _ in range(PINGS_EACH_PHASE - 1)]

    acknowledged = answers.count(200)
    assert acknowledged == len(answers) == 2 * PINGS_EACH_PHASE
    assert app.seed.scalar("SELECT count(*) FROM heartbeat_pings") == acknowledged


def test_a_notification_due_during_an_outage_is_delivered_exactly_once_after_it(
    private_postgres: PrivatePostgres, local: Local, start: Start
) -> None:
    receiver = local(script=[500])  # the first attempt fails: a retry in 30 s
    clock = manual_clock()
    app = start(clock=clock)
    webhook_channel(app.http, receiver, is_default=True)
    heartbeat = create_heartbeat(app.http, "invoice run")
    ping(app.http, heartbeat, "fail")
    arrived(receiver, 1, "the first, failed, attempt")
    eventually(lambda: delivery_settled(app.http, heartbeat, "pending", 1), "a retry planned")

    private_postgres.stop()
    try:
        clock.advance(31)  # the retry falls due while the database is away
        stays_quiet([receiver])
    finally:
        private_postgres.start()

    arrived(receiver, 2, "the retry, once the database is back")
    eventually(lambda: delivery_settled(app.http, heartbeat, "sent", 2), "the retry recorded")
    stays_quiet([receiver])
    assert len(receiver.hits) == 2


def _true(value: bool) -> bool | None:
    return value or None


def test_a_delivery_made_as_the_database_goes_away_is_recorded_after_it_and_not_sent_again(
    private_postgres: PrivatePostgres, local: Local, start: Start
) -> None:
    receiver = local()
    clock = manual_clock()
    app = start(clock=clock)
    webhook_channel(app.http, receiver, is_default=True)
    heartbeat = create_heartbeat(app.http, "ledger export")
    receiver.gate.clear()  # the receiver takes the alert, and answers only once told
    ping(app.http, heartbeat, "fail")
    arrived(receiver, 1, "the alert, received")

    private_postgres.stop()
    try:
        receiver.gate.set()  # delivered, while the attempt cannot be recorded
        stays_quiet([receiver])
    finally:
        private_postgres.start()

    eventually(lambda: delivery_settled(app.http, heartbeat, "sent", 1), "the delivery recorded")
    clock.advance(LEASE.total_seconds() + 1)  # a delivery still "sending" would be claimed again
    stays_quiet([receiver])
    assert len(receiver.hits) == 1


def test_what_a_shutdown_during_an_outage_held_is_written_at_the_next_start_and_told_once(
    private_postgres: PrivatePostgres, make_settings: SettingsFactory, local: Local
) -> None:
    settings = make_settings(database_url=private_postgres.migrated(), **CHECKING)
    receiver, target = local(), local()
    seed = Seeder(settings.effective_database_url)
    headers = {"Authorization": f"Bearer {seed.tenant().owner.token}"}
    with (
        serving(create_app(settings)) as base_url,
        httpx.Client(base_url=base_url, timeout=30, headers=headers) as http,
    ):
        webhook_channel(http, receiver, is_default=True)
        watched = _watch(http, "shop", target)
        eventually(lambda: _status(http, watched) == "up", "the monitor up")
        private_postgres.stop()
        _checked([target], 500, HITS_WHILE_AWAY, "failed checks while the database is away")
    # Stopped during the outage: what it held is in the spool.
    assert list((settings.data_dir / "spool").glob("results-*.jsonl"))
    target.status = 500  # still down when the next process starts
    private_postgres.start()
    with serving(create_app(settings)):
        down = eventually(
            lambda: _every(_alerts_sent(receiver, "monitor.down"), [watched]),
            "the down alert, after the restart",
        )
        _checked([target], 500, HITS_WHILE_AWAY, "checks after the restart")
    assert down == {watched.monitor["id"]: [True]}
    assert _alerts_sent(receiver, "monitor.down") == down  # not told again after the restart
    assert _per_monitor(seed, STATE_CHANGES) == {
        watched.monitor["id"]: [("pending", "up"), ("up", "down")]
    }
    results = _per_monitor(seed, RESULT_COUNTS)[watched.monitor["id"]][0][0]
    assert results == len(target.hits)
