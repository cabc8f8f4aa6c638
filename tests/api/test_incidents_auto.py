"""Incidents opened and resolved automatically, over real HTTP on each backend.

A monitor or heartbeat whose status changes to `down` opens an incident in the transaction
that stores the change (unless one is already open for it: the database allows one open
incident per subject); a change back to `up` or `degraded` resolves it. The monitors here are
on-demand HTTP monitors pointed at a real aiohttp server on loopback and checked with
`POST /api/v1/monitors/{id}/run`, which returns once the result (and so the incident) is
committed. Heartbeats are pinged on their public ping path, which also answers after the
commit. Only the missed-deadline test polls (bounded): the deadline watcher works on its own.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit
from uuid import UUID

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from tests.conftest import ApiHarness, SettingsFactory
from tests.support.accounts import Seeder, Tenant
from tests.support.engine import ManualClock
from tests.support.http_target import HttpTarget, serving_http
from tests.support.server import serving
from tests.support.sse import event_stream
from tests.support.waiting import eventually
from upwatch.api.app import create_app
from upwatch.core.clock import isoformat_z
from upwatch.core.scopes import Role
from upwatch.db.engine import Database
from upwatch.db.unit_of_work import unit_of_work
from upwatch.models import Incident
from upwatch.settings import Settings

MONITORS = "/api/v1/monitors"
HEARTBEATS = "/api/v1/heartbeats"
INCIDENTS = "/api/v1/incidents"
UNKNOWN_ID = "0190a000-0000-7000-8000-000000000000"
T = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
R = TypeVar("R")


# --- a real target, served from a thread while the test makes blocking calls ----------------


class TargetLoop:
    """An event loop in a thread for the target: the test thread blocks on the API, which
    checks the target, so they cannot share a loop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="target", daemon=True)
        self._thread.start()

    def run(self, work: Coroutine[Any, Any, R]) -> R:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout=30)

    @contextmanager
    def serve(self, manager: AbstractAsyncContextManager[R]) -> Iterator[R]:
        value = self.run(manager.__aenter__())
        try:
            yield value
        finally:
            self.run(manager.__aexit__(None, None, None))

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


@pytest.fixture
def target() -> Iterator[HttpTarget]:
    """`/ok` answers 200, `/status/500` answers 500."""
    loop = TargetLoop()
    try:
        with loop.serve(serving_http()) as served:
            yield served
    finally:
        loop.close()


# --- the API ------------------------------------------------------------------------------


@pytest.fixture
def api_settings(make_settings: SettingsFactory, database_url: str) -> Settings:
    return make_settings(
        database_url=database_url,
        rate_limit_per_minute=1_000_000,
        ping_rate_limit_per_minute=1_000_000,
    )


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    answer: dict[str, Any] = response.json()
    assert answer["code"] == code
    return answer


def z(moment: datetime) -> str:
    """The API's timestamp format: UTC, `Z`, milliseconds."""
    return isoformat_z(moment)


def parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def create_monitor(http: httpx.Client, target: HttpTarget, name: str) -> dict[str, Any]:
    """An on-demand monitor of `target`'s /ok: down after one failure, up after one success."""
    body = {
        "name": name,
        "kind": "http",
        "target": target.url("/ok"),
        "interval_seconds": 60,
        "timeout_ms": 5000,
        "execution_mode": "on_demand",
        "failure_threshold": 1,
        "recovery_threshold": 1,
    }
    return ok(http.post(MONITORS, json=body), 201)  # type: ignore[no-any-return]


def run(http: httpx.Client, monitor: dict[str, Any], target: HttpTarget, path: str) -> Any:
    """Point the monitor at `path` of the target and check it now; the monitor after."""
    ok(http.patch(f"{MONITORS}/{monitor['id']}", json={"target": target.url(path)}))
    return ok(http.post(f"{MONITORS}/{monitor['id']}/run"))["monitor"]


def goes_down(http: httpx.Client, monitor: dict[str, Any], target: HttpTarget) -> Any:
    checked = run(http, monitor, target, "/status/500")
    assert checked["status"] == "down", checked
    return checked


def comes_up(http: httpx.Client, monitor: dict[str, Any], target: HttpTarget) -> Any:
    checked = run(http, monitor, target, "/ok")
    assert checked["status"] == "up", checked
    return checked


def create_heartbeat(http: httpx.Client, name: str) -> dict[str, Any]:
    body = {"name": name, "period_seconds": 60, "grace_seconds": 30}
    return ok(http.post(HEARTBEATS, json=body), 201)  # type: ignore[no-any-return]


def ping(
    client: httpx.Client, heartbeat: dict[str, Any], signal: str = "", body: bytes = b""
) -> None:
    """POST the heartbeat's public ping path on the test server (its host is not this one)."""
    path = urlsplit(heartbeat["ping_url"]).path + (f"/{signal}" if signal else "")
    response = client.post(path, content=body)
    assert response.status_code == 200, response.text
    assert response.text == "OK"


def incidents(http: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    return ok(http.get(INCIDENTS, params={"limit": 100, **params}))["data"]  # type: ignore[no-any-return]


def incident(http: httpx.Client, incident_id: str) -> dict[str, Any]:
    return ok(http.get(f"{INCIDENTS}/{incident_id}"))  # type: ignore[no-any-return]


def stored_reasons(seed: Seeder, name: str, to_status: str) -> list[str]:
    """The reasons of the monitor's stored state changes to `to_status`, oldest first."""
    rows = seed.rows(
        "SELECT sc.reason FROM state_changes sc JOIN monitors m ON m.id = sc.monitor_id "
        f"WHERE m.name = '{name}' AND sc.to_status = '{to_status}' ORDER BY sc.created_at, sc.id"
    )
    return [str(row[0]) for row in rows]


# --- monitors -----------------------------------------------------------------------------


def test_a_monitor_going_down_opens_one_incident_that_its_recovery_resolves(
    api: ApiHarness, http: httpx.Client, target: HttpTarget
) -> None:
    monitor = create_monitor(http, target, "Homepage")
    comes_up(http, monitor, target)
    assert incidents(http) == []

    down = goes_down(http, monitor, target)

    [opened] = incidents(http)
    [cause] = stored_reasons(api.seed, "Homepage", "down")
    assert "500" in cause
    assert opened["title"] == "Homepage is down"
    assert opened["impact"] == "major"
    assert opened["state"] == "investigating"
    assert opened["cause"] == cause
    assert opened["monitor_id"] == monitor["id"]
    assert opened["heartbeat_id"] is None
    assert (opened["auto_created"], opened["auto_resolved"]) == (True, False)
    assert opened["started_at"] == down["status_changed_at"]
    assert opened["resolved_at"] is None
    assert opened["duration_seconds"] is None

    still_down = goes_down(http, monitor, target)
    assert still_down["status_changed_at"] == down["status_changed_at"]
    assert incidents(http) == [opened]

    up = comes_up(http, monitor, target)

    resolved = incident(http, opened["id"])
    assert resolved["state"] == "resolved"
    assert (resolved["auto_created"], resolved["auto_resolved"]) == (True, True)
    assert resolved["resolved_at"] == up["status_changed_at"]
    started, ended = parse(resolved["started_at"]), parse(resolved["resolved_at"])
    assert resolved["duration_seconds"] >= 0
    assert resolved["duration_seconds"] == pytest.approx(
        (ended - started).total_seconds(), abs=0.002
    )
    assert resolved["started_at"] == opened["started_at"]
    assert resolved["cause"] == cause
    assert [entry["kind"] for entry in resolved["timeline"]] == ["opened", "resolved"]
    assert [entry["state"] for entry in resolved["timeline"]] == ["investigating", "resolved"]
    assert [entry["created_at"] for entry in resolved["timeline"]] == [
        opened["started_at"],
        resolved["resolved_at"],
    ]
    assert all(entry["author"] is None for entry in resolved["timeline"])

    again = goes_down(http, monitor, target)

    newest, older = incidents(http)
    assert older["id"] == opened["id"]
    assert older["state"] == "resolved"
    assert newest["id"] != opened["id"]
    assert newest["state"] == "investigating"
    assert newest["monitor_id"] == monitor["id"]
    assert newest["started_at"] == again["status_changed_at"]
    assert [entry["kind"] for entry in incident(http, newest["id"])["timeline"]] == ["opened"]


def test_a_monitor_recovering_as_degraded_resolves_its_incident(
    http: httpx.Client, target: HttpTarget
) -> None:
    monitor = create_monitor(http, target, "Slowish")
    goes_down(http, monitor, target)
    [opened] = incidents(http)
    # Any real response is slower than a microsecond: the next success is `degraded`.
    ok(http.patch(f"{MONITORS}/{monitor['id']}", json={"degraded_above_ms": 0.001}))

    degraded = run(http, monitor, target, "/ok")

    assert degraded["status"] == "degraded"
    resolved = incident(http, opened["id"])
    assert (resolved["state"], resolved["auto_resolved"]) == ("resolved", True)
    assert resolved["resolved_at"] == degraded["status_changed_at"]
    assert incidents(http, open="true") == []


def test_a_monitor_down_again_after_maintenance_keeps_its_one_open_incident(
    http: httpx.Client, target: HttpTarget
) -> None:
    monitor = create_monitor(http, target, "Maintained")
    goes_down(http, monitor, target)
    [opened] = incidents(http)

    ok(http.patch(f"{MONITORS}/{monitor['id']}", json={"maintenance_mode": True}))
    assert run(http, monitor, target, "/status/500")["status"] == "maintenance"
    ok(http.patch(f"{MONITORS}/{monitor['id']}", json={"maintenance_mode": False}))
    goes_down(http, monitor, target)  # maintenance → down: a change to down, one is open

    assert incidents(http) == [opened]
    assert incident(http, opened["id"])["timeline"][0]["kind"] == "opened"
    assert len(incident(http, opened["id"])["timeline"]) == 1


# --- heartbeats ---------------------------------------------------------------------------


def test_a_failure_ping_opens_a_heartbeat_incident_and_a_success_ping_resolves_it(
    api: ApiHarness, http: httpx.Client
) -> None:
    heartbeat = create_heartbeat(http, "Backup")

    with api.client() as pinger:
        ping(pinger, heartbeat)
        assert incidents(http) == []
        ping(pinger, heartbeat, "fail", b"disk full")
        failed = ok(http.get(f"{HEARTBEATS}/{heartbeat['id']}"))

        [opened] = incidents(http)
        assert opened["title"] == "Backup is down"
        assert (opened["impact"], opened["state"]) == ("major", "investigating")
        assert opened["cause"] == "failure ping: disk full"
        assert opened["heartbeat_id"] == heartbeat["id"]
        assert opened["monitor_id"] is None
        assert (opened["auto_created"], opened["auto_resolved"]) == (True, False)
        assert opened["started_at"] == failed["status_changed_at"]

        ping(pinger, heartbeat, "fail", b"still full")
        assert incidents(http) == [opened]

        ping(pinger, heartbeat)
        recovered = ok(http.get(f"{HEARTBEATS}/{heartbeat['id']}"))

    assert recovered["status"] == "up"
    resolved = incident(http, opened["id"])
    assert (resolved["state"], resolved["auto_resolved"]) == ("resolved", True)
    assert resolved["resolved_at"] == recovered["status_changed_at"]
    assert resolved["duration_seconds"] >= 0
    assert [entry["kind"] for entry in resolved["timeline"]] == ["opened", "resolved"]


def test_a_heartbeat_failing_again_after_a_pause_keeps_its_one_open_incident(
    api: ApiHarness, http: httpx.Client
) -> None:
    heartbeat = create_heartbeat(http, "Paused backup")
    url = f"{HEARTBEATS}/{heartbeat['id']}"
    with api.client() as pinger:
        ping(pinger, heartbeat, "fail", b"first")
        [opened] = incidents(http)
        ok(http.post(f"{url}/pause"))
        assert ok(http.post(f"{url}/resume"))["status"] == "pending"

        ping(pinger, heartbeat, "fail", b"second")  # pending → down while one is open

        assert ok(http.get(url))["status"] == "down"
        assert incidents(http) == [opened]
        ping(pinger, heartbeat)
    [resolved] = incidents(http)
    assert (resolved["id"], resolved["state"]) == (opened["id"], "resolved")


def test_a_missed_heartbeat_deadline_opens_an_incident_at_the_deadline(
    make_settings: SettingsFactory, database_url: str
) -> None:
    settings = make_settings(database_url=database_url)
    tenant = Seeder(settings.effective_database_url).tenant()
    clock = ManualClock(T)
    with (
        serving(create_app(settings, clock=clock)) as base_url,
        httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {tenant.owner.token}"},
            timeout=30,
        ) as http,
        httpx.Client(base_url=base_url, timeout=30) as pinger,
    ):
        heartbeat = create_heartbeat(http, "Nightly export")
        ping(pinger, heartbeat)
        assert ok(http.get(f"{HEARTBEATS}/{heartbeat['id']}"))["deadline_at"] == z(
            T + timedelta(seconds=90)
        )

        clock.set(T + timedelta(seconds=90))
        [opened] = eventually(
            lambda: incidents(http, heartbeat_id=heartbeat["id"]) or None, "a missed incident"
        )

        assert opened["title"] == "Nightly export is down"
        assert opened["cause"] == "missed"
        assert opened["state"] == "investigating"
        assert opened["heartbeat_id"] == heartbeat["id"]
        assert opened["auto_created"] is True
        assert opened["started_at"] == z(T + timedelta(seconds=90))

        clock.set(T + timedelta(seconds=100))
        ping(pinger, heartbeat)

        resolved = incident(http, opened["id"])
        assert (resolved["state"], resolved["auto_resolved"]) == ("resolved", True)
        assert resolved["resolved_at"] == z(T + timedelta(seconds=100))
        assert resolved["duration_seconds"] == 10.0
        assert [entry["kind"] for entry in resolved["timeline"]] == ["opened", "resolved"]


# --- listing --------------------------------------------------------------------------------


@pytest.fixture
def four(api: ApiHarness, http: httpx.Client, target: HttpTarget) -> dict[str, Any]:
    """Four incidents, made in this order: the monitor's first (resolved) and second (open),
    the first heartbeat's (resolved), the second heartbeat's (open)."""
    monitor = create_monitor(http, target, "Shop")
    first, second = create_heartbeat(http, "Reports"), create_heartbeat(http, "Mailer")
    goes_down(http, monitor, target)
    comes_up(http, monitor, target)
    goes_down(http, monitor, target)
    with api.client() as pinger:
        ping(pinger, first, "fail", b"boom")
        ping(pinger, first)
        ping(pinger, second, "fail", b"bang")
    made = list(reversed(incidents(http)))
    assert len(made) == 4
    return {"monitor": monitor, "first": first, "second": second, "made": made}


def ids(found: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in found]


def test_incidents_are_filtered_by_open_state_and_subject(
    http: httpx.Client, four: dict[str, Any]
) -> None:
    shop_resolved, shop_open, reports_resolved, mailer_open = four["made"]
    assert [shop_resolved["monitor_id"], shop_open["monitor_id"]] == [four["monitor"]["id"]] * 2
    assert reports_resolved["heartbeat_id"] == four["first"]["id"]
    assert mailer_open["heartbeat_id"] == four["second"]["id"]

    assert ids(incidents(http, open="true")) == ids([mailer_open, shop_open])
    assert ids(incidents(http, open="false")) == ids([reports_resolved, shop_resolved])
    assert ids(incidents(http, state="resolved")) == ids([reports_resolved, shop_resolved])
    assert ids(incidents(http, state="investigating")) == ids([mailer_open, shop_open])
    assert ids(incidents(http, monitor_id=four["monitor"]["id"])) == ids([shop_open, shop_resolved])
    assert ids(incidents(http, heartbeat_id=four["first"]["id"])) == ids([reports_resolved])
    assert ids(incidents(http, heartbeat_id=four["second"]["id"], open="false")) == []
    assert incidents(http, monitor_id=UNKNOWN_ID) == []
    assert all(item["state"] != "resolved" for item in incidents(http, open="true"))
    assert all(item["resolved_at"] is not None for item in incidents(http, open="false"))


def test_pages_of_one_walk_every_incident_exactly_once_newest_first(
    http: httpx.Client, four: dict[str, Any]
) -> None:
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(10):  # bounded: four pages are expected
        params: dict[str, Any] = {"limit": 1} if cursor is None else {"limit": 1, "cursor": cursor}
        page = ok(http.get(INCIDENTS, params=params))
        assert len(page["data"]) == 1
        assert page["pagination"]["limit"] == 1
        seen.extend(page["data"])
        cursor = page["pagination"]["next_cursor"]
        if cursor is None:
            break

    assert ids(seen) == ids(list(reversed(four["made"])))
    assert len(set(ids(seen))) == 4
    starts = [parse(item["started_at"]) for item in seen]
    assert starts == sorted(starts, reverse=True)


# --- events ---------------------------------------------------------------------------------


@pytest.mark.real_server  # reads the event stream while the app keeps running
def test_the_event_stream_announces_incidents_opened_and_resolved_with_their_subject(
    api: ApiHarness, http: httpx.Client, tenant: Tenant, target: HttpTarget
) -> None:
    monitor = create_monitor(http, target, "API")
    heartbeat = create_heartbeat(http, "Cleanup")

    with (
        event_stream(
            api.base_url, tenant.owner.token, ["incident.opened", "incident.resolved"]
        ) as stream,
        api.client() as pinger,
    ):
        goes_down(http, monitor, target)
        monitor_opened = stream.next().envelope
        comes_up(http, monitor, target)
        monitor_resolved = stream.next().envelope
        ping(pinger, heartbeat, "fail", b"oops")
        heartbeat_opened = stream.next().envelope

    [beat_incident, monitor_incident] = incidents(http)
    assert monitor_opened["type"] == "incident.opened"
    assert monitor_opened["data"]["incident_id"] == monitor_incident["id"]
    assert monitor_opened["data"]["monitor_id"] == monitor["id"]
    assert "heartbeat_id" not in monitor_opened["data"]
    assert monitor_opened["data"]["title"] == "API is down"
    assert monitor_opened["data"]["state"] == "investigating"
    assert monitor_opened["data"]["started_at"] == monitor_incident["started_at"]

    assert monitor_resolved["type"] == "incident.resolved"
    assert monitor_resolved["data"]["incident_id"] == monitor_incident["id"]
    assert monitor_resolved["data"]["monitor_id"] == monitor["id"]
    assert monitor_resolved["data"]["state"] == "resolved"
    assert monitor_resolved["data"]["auto_resolved"] is True
    assert monitor_resolved["data"]["resolved_at"] == monitor_incident["resolved_at"]

    assert heartbeat_opened["type"] == "incident.opened"
    assert heartbeat_opened["data"]["incident_id"] == beat_incident["id"]
    assert heartbeat_opened["data"]["heartbeat_id"] == heartbeat["id"]
    assert "monitor_id" not in heartbeat_opened["data"]
    assert heartbeat_opened["data"]["title"] == "Cleanup is down"
    assert heartbeat_opened["data"]["cause"] == "failure ping: oops"


# --- the database's guard ------------------------------------------------------------------


def _db(url: str, work: Callable[[Database], Coroutine[Any, Any, R]]) -> R:
    async def main() -> R:
        database = Database(url)
        try:
            return await work(database)
        finally:
            await database.dispose()

    return asyncio.run(main())


def insert_open(url: str, organization_id: int, **subject: int) -> None:
    """One open (investigating) incident row for the subject, straight into the table."""

    async def work(database: Database) -> None:
        async with unit_of_work(database) as session:
            session.add(
                Incident(
                    organization_id=organization_id,
                    title="by hand",
                    impact="major",
                    state="investigating",
                    auto_created=False,
                    auto_resolved=False,
                    started_at=T,
                    created_at=T,
                    updated_at=T,
                    **subject,
                )
            )

    _db(url, work)


def resolve_all(url: str, **subject: int) -> None:
    async def work(database: Database) -> None:
        ((column, value),) = subject.items()
        async with unit_of_work(database) as session:
            await session.execute(
                update(Incident)
                .where(getattr(Incident, column) == value)
                .values(state="resolved", resolved_at=T, updated_at=T)
            )

    _db(url, work)


def test_the_database_allows_one_open_incident_per_monitor_and_per_heartbeat(
    api: ApiHarness, http: httpx.Client, target: HttpTarget
) -> None:
    create_monitor(http, target, "Guarded monitor")
    create_heartbeat(http, "Guarded heartbeat")
    [(monitor_id, organization_id)] = api.seed.rows(
        "SELECT id, organization_id FROM monitors WHERE name = 'Guarded monitor'"
    )
    [(heartbeat_id,)] = api.seed.rows("SELECT id FROM heartbeats WHERE name = 'Guarded heartbeat'")
    url = api.settings.effective_database_url
    org = int(str(organization_id))

    for column, value in (
        ("monitor_id", int(str(monitor_id))),
        ("heartbeat_id", int(str(heartbeat_id))),
    ):
        insert_open(url, org, **{column: value})
        with pytest.raises(IntegrityError):
            insert_open(url, org, **{column: value})

        resolve_all(url, **{column: value})
        insert_open(url, org, **{column: value})

        rows = api.seed.rows(f"SELECT state FROM incidents WHERE {column} = {value}")
        assert sorted(str(row[0]) for row in rows) == ["investigating", "resolved"]


# --- access ---------------------------------------------------------------------------------


def test_reading_incidents_needs_the_incidents_read_scope_and_a_viewer_has_it(
    api: ApiHarness, http: httpx.Client, tenant: Tenant
) -> None:
    heartbeat = create_heartbeat(http, "Scoped")
    with api.client() as pinger:
        ping(pinger, heartbeat, "fail", b"no")
    [opened] = incidents(http)
    monitors_only = api.seed.token_for(tenant.owner, tenant.organization_id, ["monitors:read"])
    incidents_only = api.seed.token_for(tenant.owner, tenant.organization_id, ["incidents:read"])
    viewer = api.seed.person(tenant.organization_id, Role.VIEWER)

    with api.client(monitors_only) as refused:
        error(refused.get(INCIDENTS), 403, "TOKEN_SCOPE_INSUFFICIENT")
        error(refused.get(f"{INCIDENTS}/{opened['id']}"), 403, "TOKEN_SCOPE_INSUFFICIENT")
    for token in (incidents_only, viewer.token):
        with api.client(token) as reader:
            assert incidents(reader) == [opened]
            assert incident(reader, opened["id"])["id"] == opened["id"]


def test_an_unknown_or_foreign_incident_is_not_found(api: ApiHarness, http: httpx.Client) -> None:
    heartbeat = create_heartbeat(http, "Private")
    with api.client() as pinger:
        ping(pinger, heartbeat, "fail", b"secret")
    [mine] = incidents(http)
    stranger = api.seed.tenant()

    error(http.get(f"{INCIDENTS}/{UNKNOWN_ID}"), 404, "NOT_FOUND")
    with api.client(stranger.owner.token) as theirs:
        error(theirs.get(f"{INCIDENTS}/{mine['id']}"), 404, "NOT_FOUND")
        assert incidents(theirs) == []
        assert incidents(theirs, heartbeat_id=heartbeat["id"]) == []
    assert UUID(mine["id"]).version == 7
