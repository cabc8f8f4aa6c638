"""Heartbeat deadlines over real HTTP on each backend, with time in the test's hands.

The app gets a `ManualClock`: pings are received, deadlines armed and misses declared at the
times the test sets. The deadline watcher looks at the clock at least every 0.25 s, so after
moving the clock a test polls the API (bounded) until the expected state shows; a state that
must NOT appear is watched for a while instead. Nothing here measures wall time.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import SettingsFactory
from tests.support.accounts import Seeder, Tenant
from tests.support.engine import ManualClock
from tests.support.server import serving
from tests.support.sse import event_stream
from tests.support.waiting import eventually
from upwatch.api.app import create_app
from upwatch.core.clock import isoformat_z
from upwatch.settings import Settings

HEARTBEATS = "/api/v1/heartbeats"
T = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
STEP_SECONDS = 0.05
QUIET_SECONDS = 1.0  # how long a state that must not change is watched (4+ watcher looks)

R = TypeVar("R")


# --- the app, its clock and its database ----------------------------------------------------


@dataclass
class Upwatch:
    """One running app: its URL, the clock it reads, and an API client of the organization."""

    base_url: str
    clock: ManualClock
    http: httpx.Client
    pinger: httpx.Client  # no credentials: the ping URL is the credential
    seed: Seeder


@pytest.fixture
def settings(make_settings: SettingsFactory, database_url: str) -> Settings:
    # The rate limiter counts on the real clock; these tests make hundreds of requests.
    return make_settings(
        database_url=database_url,
        rate_limit_per_minute=1_000_000,
        ping_rate_limit_per_minute=1_000_000,
    )


@pytest.fixture
def tenant(settings: Settings) -> Tenant:
    return Seeder(settings.effective_database_url).tenant()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T)


@contextmanager
def running(settings: Settings, tenant: Tenant, clock: ManualClock) -> Iterator[Upwatch]:
    """The real app on the test's database, reading `clock`, until the block ends."""
    with (
        serving(create_app(settings, clock=clock)) as base_url,
        httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {tenant.owner.token}"},
            timeout=30,
        ) as http,
        httpx.Client(base_url=base_url, timeout=30) as pinger,
    ):
        yield Upwatch(base_url, clock, http, pinger, Seeder(settings.effective_database_url))


@pytest.fixture
def upwatch(settings: Settings, tenant: Tenant, clock: ManualClock) -> Iterator[Upwatch]:
    with running(settings, tenant, clock) as app:
        yield app


# --- helpers --------------------------------------------------------------------------------


def z(moment: datetime) -> str:
    """The API's timestamp format: UTC, `Z`, milliseconds."""
    return isoformat_z(moment)


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def create(app: Upwatch, name: str, **fields: Any) -> dict[str, Any]:
    return ok(app.http.post(HEARTBEATS, json={"name": name, **fields}), 201)  # type: ignore[no-any-return]


def read(app: Upwatch, heartbeat: dict[str, Any]) -> dict[str, Any]:
    return ok(app.http.get(f"{HEARTBEATS}/{heartbeat['id']}"))  # type: ignore[no-any-return]


def runs(app: Upwatch, heartbeat: dict[str, Any]) -> list[dict[str, Any]]:
    """The heartbeat's runs, newest first."""
    return ok(app.http.get(f"{HEARTBEATS}/{heartbeat['id']}/runs"))["data"]  # type: ignore[no-any-return]


def ping(app: Upwatch, heartbeat: dict[str, Any], signal: str | None = None) -> None:
    """GET the heartbeat's public ping URL (on this server), with /start, /fail or /{code}."""
    path = urlsplit(heartbeat["ping_url"]).path
    if signal is not None:
        path = f"{path}/{signal}"
    response = app.pinger.get(path)
    assert response.status_code == 200, response.text
    assert response.text == "OK"


def becomes(app: Upwatch, heartbeat: dict[str, Any], status: str) -> dict[str, Any]:
    """Poll the heartbeat until it has `status`; its detail then."""

    def probe() -> dict[str, Any] | None:
        found = read(app, heartbeat)
        return found if found["status"] == status else None

    return eventually(probe, f"{heartbeat['name']} {status}")


def stays(app: Upwatch, heartbeat: dict[str, Any], status: str) -> dict[str, Any]:
    """Watch the heartbeat for a while (the watcher looks several times): it keeps `status`."""
    until = time.monotonic() + QUIET_SECONDS
    while True:
        found = read(app, heartbeat)
        assert found["status"] == status, found
        if time.monotonic() > until:
            return found
        time.sleep(STEP_SECONDS)


def _utc(value: object) -> datetime:
    """A timestamp as either backend returns it from raw SQL (SQLite: naive UTC text)."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def changes(seed: Seeder, name: str) -> list[tuple[str, str, str, datetime]]:
    """The stored state changes of the heartbeat called `name`, oldest first:
    (from_status, to_status, reason, created_at)."""
    rows = seed.rows(
        "SELECT sc.from_status, sc.to_status, sc.reason, sc.created_at "
        "FROM state_changes sc JOIN heartbeats h ON h.id = sc.heartbeat_id "
        f"WHERE h.name = '{name}' ORDER BY sc.created_at, sc.id"
    )
    return [(str(a), str(b), str(reason), _utc(at)) for a, b, reason, at in rows]


def downs(seed: Seeder, name: str) -> int:
    return sum(1 for change in changes(seed, name) if change[1] == "down")


# --- a missed deadline ----------------------------------------------------------------------


def test_a_heartbeat_is_down_as_missed_exactly_at_its_deadline_and_not_a_moment_before(
    upwatch: Upwatch, tenant: Tenant
) -> None:
    heartbeat = create(upwatch, "Backup", period_seconds=60, grace_seconds=30)
    ping(upwatch, heartbeat)

    pinged = read(upwatch, heartbeat)
    assert pinged["status"] == "up"
    assert pinged["last_ping_at"] == z(T)
    assert pinged["next_expected_at"] == z(T + timedelta(seconds=60))
    assert pinged["deadline_at"] == z(T + timedelta(seconds=90))
    assert pinged["deadline_at"] == "2026-06-10T12:01:30.000Z"

    upwatch.clock.set(T + timedelta(seconds=89))
    stays(upwatch, heartbeat, "up")

    with event_stream(upwatch, tenant.owner.token, ["heartbeat.missed"]) as stream:
        upwatch.clock.set(T + timedelta(seconds=90))
        missed = stream.next().envelope
        down = becomes(upwatch, heartbeat, "down")

    assert down["reason"] == "missed"
    assert down["status_changed_at"] == z(T + timedelta(seconds=90))
    assert down["deadline_at"] is None
    assert missed["type"] == "heartbeat.missed"
    assert missed["created_at"] == z(T + timedelta(seconds=90))
    assert missed["data"]["heartbeat_id"] == heartbeat["id"]
    assert missed["data"]["deadline_at"] == z(T + timedelta(seconds=90))
    assert missed["data"]["reason"] == "missed"
    assert changes(upwatch.seed, "Backup") == [
        ("pending", "up", "success ping", T),
        ("up", "down", "missed", T + timedelta(seconds=90)),
    ]


def test_a_run_started_and_never_finished_times_out_and_may_still_end_later(
    upwatch: Upwatch,
) -> None:
    heartbeat = create(upwatch, "Nightly export", period_seconds=60, grace_seconds=30)
    ping(upwatch, heartbeat)
    started = upwatch.clock.advance(10)
    ping(upwatch, heartbeat, "start")
    running_ = read(upwatch, heartbeat)
    assert (running_["status"], running_["running"]) == ("up", True)
    assert running_["deadline_at"] == z(started + timedelta(seconds=90))

    upwatch.clock.set(started + timedelta(seconds=90))
    down = becomes(upwatch, heartbeat, "down")

    assert down["reason"] == "started but never finished"
    assert down["status_changed_at"] == z(started + timedelta(seconds=90))
    timed_out = runs(upwatch, heartbeat)[0]
    assert timed_out["started_at"] == z(started)
    assert (timed_out["outcome"], timed_out["ended_at"], timed_out["duration_ms"]) == (
        "timeout",
        None,
        None,
    )

    ended = upwatch.clock.set(started + timedelta(seconds=100))
    ping(upwatch, heartbeat)

    back = read(upwatch, heartbeat)
    assert (back["status"], back["reason"], back["running"]) == ("up", None, False)
    assert back["last_duration_ms"] == 100_000.0
    latest = runs(upwatch, heartbeat)
    assert len(latest) == 2  # the success-only run first pinged, and the one that timed out
    assert latest[0] == {
        "rid": None,
        "started_at": z(started),
        "ended_at": z(ended),
        "duration_ms": 100_000.0,
        "outcome": "success",
        "exit_code": None,
    }


def test_a_run_longer_than_the_maximum_run_time_is_down_before_the_period_ends(
    upwatch: Upwatch,
) -> None:
    heartbeat = create(
        upwatch, "Report", period_seconds=3600, grace_seconds=600, max_runtime_seconds=120
    )
    ping(upwatch, heartbeat, "start")

    started = read(upwatch, heartbeat)
    assert started["deadline_at"] == z(T + timedelta(seconds=120))
    upwatch.clock.set(T + timedelta(seconds=119))
    stays(upwatch, heartbeat, "pending")

    upwatch.clock.set(T + timedelta(seconds=121))
    down = becomes(upwatch, heartbeat, "down")

    assert down["reason"] == "running longer than the maximum run time of 120 s"
    assert down["status_changed_at"] == z(T + timedelta(seconds=120))
    assert runs(upwatch, heartbeat)[0]["outcome"] == "timeout"


# --- restarts and late pings ----------------------------------------------------------------


def test_a_deadline_that_passed_while_upwatch_was_stopped_is_declared_once_after_restart(
    settings: Settings, tenant: Tenant
) -> None:
    with running(settings, tenant, ManualClock(T)) as first:
        short = create(first, "Short", period_seconds=60, grace_seconds=30)
        long = create(first, "Long", period_seconds=3600, grace_seconds=0)
        ping(first, short)
        ping(first, long)
    seed = first.seed

    with running(settings, tenant, ManualClock(T + timedelta(seconds=600))) as second:
        down = becomes(second, short, "down")
        assert down["reason"] == "missed"
        assert down["status_changed_at"] == z(T + timedelta(seconds=90))  # the deadline
        assert down["deadline_at"] is None
        assert read(second, long)["status"] == "up"
    assert downs(seed, "Short") == 1

    with running(settings, tenant, ManualClock(T + timedelta(hours=2))) as third:
        # Long's miss shows the watcher has loaded every deadline and fired the due ones.
        assert becomes(third, long, "down")["reason"] == "missed"
        assert read(third, short)["status"] == "down"
        assert downs(seed, "Short") == 1
        assert downs(seed, "Long") == 1


def test_a_ping_after_the_deadline_but_before_the_miss_is_declared_ends_up(
    upwatch: Upwatch,
) -> None:
    heartbeat = create(upwatch, "Sync", period_seconds=60, grace_seconds=30)
    ping(upwatch, heartbeat)

    late = upwatch.clock.set(T + timedelta(seconds=95))
    ping(upwatch, heartbeat)  # the watcher may or may not have declared the miss yet
    upwatch.clock.set(T + timedelta(seconds=96))  # due entries are surely looked at now
    final = stays(upwatch, heartbeat, "up")

    assert final["reason"] is None
    assert final["last_ping_at"] == z(late)
    assert final["deadline_at"] == z(late + timedelta(seconds=90))
    history = changes(upwatch.seed, "Sync")
    assert history[-2:] == [
        ("up", "down", "missed", T + timedelta(seconds=90)),
        ("down", "up", "success ping", late),
    ]
    assert downs(upwatch.seed, "Sync") == 1


# --- schedules --------------------------------------------------------------------------------


def test_a_cron_deadline_follows_the_time_zone_across_both_daylight_saving_changes(
    upwatch: Upwatch,
) -> None:
    heartbeat = create(
        upwatch, "Berlin 3am", cron="0 3 * * *", timezone="Europe/Berlin", grace_seconds=600
    )

    upwatch.clock.set(datetime(2026, 3, 28, 12, 0, tzinfo=UTC))
    ping(upwatch, heartbeat)
    spring = read(upwatch, heartbeat)
    assert spring["next_expected_at"] == "2026-03-29T01:00:00.000Z"  # 03:00 CEST
    assert spring["deadline_at"] == "2026-03-29T01:10:00.000Z"

    upwatch.clock.set(datetime(2026, 10, 24, 12, 0, tzinfo=UTC))
    becomes(upwatch, heartbeat, "down")  # the spring deadline long passed
    ping(upwatch, heartbeat)
    autumn = read(upwatch, heartbeat)
    assert autumn["status"] == "up"
    assert autumn["next_expected_at"] == "2026-10-25T02:00:00.000Z"  # 03:00 CET
    assert autumn["deadline_at"] == "2026-10-25T02:10:00.000Z"


def test_a_paused_heartbeat_misses_nothing_and_resuming_restarts_the_timer_from_now(
    upwatch: Upwatch,
) -> None:
    heartbeat = create(upwatch, "Paused job", period_seconds=60, grace_seconds=30)
    ping(upwatch, heartbeat)

    upwatch.clock.set(T + timedelta(seconds=30))
    paused = ok(upwatch.http.post(f"{HEARTBEATS}/{heartbeat['id']}/pause"))
    assert (paused["status"], paused["deadline_at"]) == ("paused", None)
    upwatch.clock.set(T + timedelta(hours=1))
    stays(upwatch, heartbeat, "paused")
    assert downs(upwatch.seed, "Paused job") == 0

    resumed_at = upwatch.clock.set(T + timedelta(hours=2))
    resumed = ok(upwatch.http.post(f"{HEARTBEATS}/{heartbeat['id']}/resume"))
    assert resumed["status"] == "pending"
    assert resumed["status_changed_at"] == z(resumed_at)
    assert resumed["deadline_at"] == z(resumed_at + timedelta(seconds=90))
    assert read(upwatch, heartbeat)["deadline_at"] == z(resumed_at + timedelta(seconds=90))

    upwatch.clock.set(resumed_at + timedelta(seconds=89))
    stays(upwatch, heartbeat, "pending")
    upwatch.clock.set(resumed_at + timedelta(seconds=90))
    down = becomes(upwatch, heartbeat, "down")
    assert down["reason"] == "missed"
    assert down["status_changed_at"] == z(resumed_at + timedelta(seconds=90))
    assert [change[1] for change in changes(upwatch.seed, "Paused job")] == [
        "up",
        "paused",
        "pending",
        "down",
    ]


# --- history ----------------------------------------------------------------------------------


def test_stats_and_daily_uptime_add_up_a_known_timeline(upwatch: Upwatch) -> None:
    clock = upwatch.clock
    start = clock.set(datetime(2026, 6, 11, 22, 59, 30, tzinfo=UTC))
    heartbeat = create(upwatch, "Timeline", period_seconds=3600, grace_seconds=3600)
    ping(upwatch, heartbeat, "start")
    up_at = clock.advance(30)  # 23:00:00 - up, after a 30 s run
    ping(upwatch, heartbeat)
    clock.set(up_at + timedelta(seconds=3540))  # 23:59:00
    ping(upwatch, heartbeat, "start")
    down_at = clock.advance(60)  # 00:00:00 - down, after a failed 60 s run
    ping(upwatch, heartbeat, "fail")
    clock.set(down_at + timedelta(seconds=3510))  # 00:58:30
    ping(upwatch, heartbeat, "start")
    up_again = clock.advance(90)  # 01:00:00 - up, after a 90 s run
    ping(upwatch, heartbeat)
    clock.set(up_again + timedelta(hours=1))  # 02:00:00
    assert read(upwatch, heartbeat)["status"] == "up"

    window = {"from": z(start), "to": z(up_again)}
    figures = ok(upwatch.http.get(f"{HEARTBEATS}/{heartbeat['id']}/stats", params=window))

    assert (figures["since"], figures["until"]) == (z(start), z(up_again))
    assert figures["uptime_percent"] == 50.0  # up 23:00-00:00, down 00:00-01:00
    assert figures["downtime_seconds"] == 3600.0
    assert figures["pings"] == 5  # the success at `to` is outside [from, to)
    assert (figures["runs"], figures["successes"], figures["failures"]) == (3, 2, 1)
    assert (figures["timeouts"], figures["in_progress"]) == (0, 0)
    assert figures["min_duration_ms"] == 30_000.0
    assert figures["max_duration_ms"] == 90_000.0
    assert figures["avg_duration_ms"] == 60_000.0

    daily = ok(upwatch.http.get(f"{HEARTBEATS}/{heartbeat['id']}/uptime/daily?days=3"))["data"]

    assert daily == [
        {
            "date": "2026-06-10",
            "uptime_percent": None,
            "downtime_seconds": 0.0,
            "runs": 0,
            "failures": 0,
        },
        {
            "date": "2026-06-11",
            "uptime_percent": 100.0,
            "downtime_seconds": 0.0,
            "runs": 2,
            "failures": 1,
        },
        {
            "date": "2026-06-12",
            "uptime_percent": 50.0,
            "downtime_seconds": 3600.0,
            "runs": 1,
            "failures": 0,
        },
    ]


# --- many deadlines ---------------------------------------------------------------------------

MANY = 300


def test_three_hundred_heartbeats_pinged_together_are_all_declared_missed(
    upwatch: Upwatch,
) -> None:
    def make(number: int) -> dict[str, Any]:
        return create(upwatch, f"job {number:03d}", period_seconds=60, grace_seconds=30)

    with ThreadPoolExecutor(max_workers=4) as pool:
        heartbeats = list(pool.map(make, range(MANY)))
        list(pool.map(lambda heartbeat: ping(upwatch, heartbeat), heartbeats))

    def total(status: str) -> int:
        answer = ok(upwatch.http.get(HEARTBEATS, params={"status": status, "limit": 1}))
        return int(answer["pagination"]["total"])

    assert total("up") == MANY
    upwatch.clock.set(T + timedelta(seconds=90))

    eventually(lambda: total("down") == MANY, f"{MANY} heartbeats down")
    assert total("up") == 0
    down_rows = upwatch.seed.scalar(
        "SELECT count(*) FROM state_changes "
        "WHERE heartbeat_id IS NOT NULL AND to_status = 'down' AND reason = 'missed'"
    )
    assert down_rows == MANY


# --- a failed job that then stops running ---------------------------------------------------


def test_a_failed_job_that_stops_running_is_reported_missed_at_its_next_deadline(
    upwatch: Upwatch, tenant: Tenant
) -> None:
    """The README's walkthrough: /fail (down with the output), then silence → `missed`."""
    heartbeat = create(upwatch, "Failing", period_seconds=60, grace_seconds=5)
    ping(upwatch, heartbeat)
    upwatch.clock.set(T + timedelta(seconds=10))
    response = upwatch.pinger.post(
        f"{urlsplit(heartbeat['ping_url']).path}/fail", content=b"disk full"
    )
    assert response.status_code == 200, response.text
    failed = read(upwatch, heartbeat)
    assert (failed["status"], failed["reason"]) == ("down", "failure ping: disk full")
    assert failed["deadline_at"] == z(T + timedelta(seconds=75))  # the failed run counts

    with event_stream(upwatch, tenant.owner.token, ["heartbeat.missed"]) as stream:
        upwatch.clock.set(T + timedelta(seconds=75))
        event = stream.next().envelope
    assert event["data"]["heartbeat_id"] == heartbeat["id"]
    assert event["data"]["reason"] == "missed"

    missed = eventually(
        lambda: (found := read(upwatch, heartbeat))["reason"] == "missed" and found,
        "reason missed",
    )
    assert missed["status"] == "down"
    assert missed["deadline_at"] is None  # declared once
    # One change to down (the failure): the miss changed the reason, not the status.
    assert [(c[0], c[1], c[2]) for c in changes(upwatch.seed, "Failing")] == [
        ("pending", "up", "success ping"),
        ("up", "down", "failure ping: disk full"),
    ]
