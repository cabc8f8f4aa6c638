"""The Osminog compatibility endpoints over real HTTP on each backend, field by field
against Osminog's API reference: `GET /api/v1/task/status` and `GET /api/v1/website/tasks`,
authenticated with `X-Api-Key`, with Osminog's keys, types, nulls and error messages; and
response-time spikes against a baseline, detected end to end by real checks of a real
server that answers slowly on demand.

Scheduled checks are off here (`run_checks=False`): the engine still runs every check the
tests ask for (`POST /run`), and nothing else changes a task's numbers behind their back.
"""

from __future__ import annotations

import asyncio
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from aiohttp import web
from sqlalchemy import select, update

from tests.conftest import ApiHarness, SettingsFactory
from tests.support.accounts import Seeder, Tenant
from tests.support.server import serving
from upwatch.api.app import create_app
from upwatch.db.engine import Database
from upwatch.db.unit_of_work import unit_of_work
from upwatch.models import Monitor, MonitorState, Website
from upwatch.settings import Settings

MONITORS = "/api/v1/monitors"
TASK_STATUS = "/api/v1/task/status"
WEBSITE_TASKS = "/api/v1/website/tasks"
TASK_KEYS = {
    "task_id", "website", "uri", "http_code", "last_check", "response_time_ms",
    "min_ms", "max_ms", "avg_ms", "last_spike",
}  # fmt: skip
WEBSITE_TASK_KEYS = {
    "task_id", "uri", "http_method", "frequency_seconds", "concurrency", "execution_mode",
    "is_active", "http_code", "last_check", "response_time_ms", "min_ms", "max_ms", "avg_ms",
    "last_spike",
}  # fmt: skip
SPIKE_KEYS = {"datetime", "response_time_ms", "baseline_avg_ms", "diff_percent"}
OSMINOG_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
START_SECONDS = 10.0
SLOW_SECONDS = 0.4  # far above a loopback answer, and above 1.5 x the seeded 187.44 ms


# --- a real target server that answers slowly on demand -------------------------------


class Target:
    """A real aiohttp server on 127.0.0.1 in a thread of its own. Every path answers 200
    after `delay` seconds, except `/status/{code}`."""

    def __init__(self) -> None:
        self.delay = 0.0
        self.base_url = ""

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"


@contextmanager
def serving_target() -> Iterator[Target]:
    target = Target()

    async def status(request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]))

    async def anything(request: web.Request) -> web.Response:
        if target.delay:
            await asyncio.sleep(target.delay)
        return web.Response(text="hello upwatch")

    app = web.Application()
    app.router.add_get("/status/{code}", status)
    app.router.add_route("*", "/{tail:.*}", anything)
    runner = web.AppRunner(app, access_log=None)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="http-target", daemon=True)
    thread.start()

    def call(coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(START_SECONDS)

    async def start() -> int:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        return int(runner.addresses[0][1])

    try:
        target.base_url = f"http://127.0.0.1:{call(start())}"
        yield target
    finally:
        call(runner.cleanup())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(START_SECONDS)
        loop.close()


@pytest.fixture
def target() -> Iterator[Target]:
    with serving_target() as running:
        yield running


# --- the API ---------------------------------------------------------------------------


@pytest.fixture
def api_settings(make_settings: SettingsFactory, database_url: str) -> Settings:
    return make_settings(database_url=database_url, run_checks=False)


@pytest.fixture
def tenant(api: ApiHarness) -> Tenant:
    return api.seed.tenant()


@pytest.fixture
def http(api: ApiHarness, tenant: Tenant) -> Iterator[httpx.Client]:
    """Osminog's way of authenticating: the token in `X-Api-Key`."""
    with api.client(**{"X-Api-Key": tenant.owner.token}) as client:
        yield client


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def create_monitor(http: httpx.Client, url: str, **fields: Any) -> dict[str, Any]:
    body = {
        "name": "Task",
        "kind": "http",
        "target": url,
        "execution_mode": "on_demand",
        "interval_seconds": 60,
        "timeout_ms": 5000,
        **fields,
    }
    return ok(http.post(MONITORS, json=body), 201)  # type: ignore[no-any-return]


def run(http: httpx.Client, monitor: dict[str, Any]) -> dict[str, Any]:
    return ok(http.post(f"{MONITORS}/{monitor['id']}/run"))  # type: ignore[no-any-return]


def task_status(http: httpx.Client, task_id: str) -> dict[str, Any]:
    return ok(http.get(TASK_STATUS, params={"task_id": task_id}))  # type: ignore[no-any-return]


def error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    return response.json()["error"]  # type: ignore[no-any-return]


def set_state(database_url: str, monitor_id: str, **values: Any) -> None:
    """Write a monitor's stored state directly, as if earlier checks had produced it."""

    async def work() -> None:
        database = Database(database_url)
        try:
            async with unit_of_work(database) as session:
                internal = select(Monitor.id).where(Monitor.public_id == uuid.UUID(monitor_id))
                await session.execute(
                    update(MonitorState)
                    .where(MonitorState.monitor_id == internal.scalar_subquery())
                    .values(**values)
                )
        finally:
            await database.dispose()

    asyncio.run(work())


def set_verified(database_url: str, website_id: str) -> None:
    """Record a website as verified, as a successful verification would."""

    async def work() -> None:
        database = Database(database_url)
        try:
            async with unit_of_work(database) as session:
                await session.execute(
                    update(Website)
                    .where(Website.public_id == uuid.UUID(website_id))
                    .values(verified_at=datetime.now(UTC), verification_method="dns")
                )
        finally:
            await database.dispose()

    asyncio.run(work())


def parse_z(value: str) -> datetime:
    assert OSMINOG_TIMESTAMP.match(value), value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def parse_api(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def latencies(http: httpx.Client, monitor: dict[str, Any]) -> list[float]:
    checks = ok(http.get(f"{MONITORS}/{monitor['id']}/checks", params={"limit": 100}))["data"]
    return [check["latency_ms"] for check in checks]


# --- GET /task/status ------------------------------------------------------------------


def test_task_status_before_any_check_has_the_documented_keys_all_null(
    http: httpx.Client, target: Target
) -> None:
    monitor = create_monitor(http, target.url("/api/health"))

    status = task_status(http, monitor["id"])

    assert status == {
        "task_id": monitor["id"],
        "website": "127.0.0.1",
        "uri": "/api/health",
        "http_code": None,
        "last_check": None,
        "response_time_ms": None,
        "min_ms": None,
        "max_ms": None,
        "avg_ms": None,
        "last_spike": None,
    }


def test_task_status_names_the_website_by_domain_and_the_uri_by_path(
    http: httpx.Client, target: Target
) -> None:
    port = target.base_url.rsplit(":", 1)[1]
    at_root = create_monitor(http, f"http://localhost:{port}")
    deep = create_monitor(http, f"http://LocalHost:{port}/v1/status/health")

    assert (
        task_status(http, at_root["id"])["website"],
        task_status(http, at_root["id"])["uri"],
    ) == (
        "localhost",
        "/",
    )
    assert (task_status(http, deep["id"])["website"], task_status(http, deep["id"])["uri"]) == (
        "localhost",
        "/v1/status/health",
    )


def test_task_status_after_checks_summarises_them_with_the_documented_types(
    http: httpx.Client, target: Target
) -> None:
    monitor = create_monitor(http, target.url("/api/health"))
    runs = [run(http, monitor) for _ in range(3)]

    status = task_status(http, monitor["id"])

    seen = latencies(http, monitor)
    last = runs[-1]["check"]
    assert set(status) == TASK_KEYS
    assert status["task_id"] == monitor["id"]
    assert status["http_code"] == 200
    assert type(status["http_code"]) is int
    for name in ("response_time_ms", "min_ms", "max_ms", "avg_ms"):
        assert type(status[name]) is float, name
    assert status["response_time_ms"] == round(last["latency_ms"], 2)
    assert status["min_ms"] == round(min(seen), 2)
    assert status["max_ms"] == round(max(seen), 2)
    assert status["avg_ms"] == pytest.approx(sum(seen) / len(seen), abs=0.006)
    assert status["min_ms"] <= status["avg_ms"] <= status["max_ms"]
    assert abs((parse_z(status["last_check"]) - parse_api(last["checked_at"])).total_seconds()) < 1
    assert parse_z(status["last_check"]).tzinfo == UTC
    assert status["last_spike"] is None


def test_task_status_shows_the_latest_http_code_of_a_failing_task(
    http: httpx.Client, target: Target
) -> None:
    monitor = create_monitor(http, target.url("/status/503"))

    run(http, monitor)
    status = task_status(http, monitor["id"])

    assert status["http_code"] == 503
    assert status["uri"] == "/status/503"
    assert status["last_check"] is not None
    # Failed checks are not response-time samples.
    assert (status["min_ms"], status["max_ms"], status["avg_ms"]) == (None, None, None)


def test_a_stored_spike_and_summary_render_exactly_like_the_osminog_example(
    api: ApiHarness, http: httpx.Client, target: Target
) -> None:
    monitor = create_monitor(http, target.url("/api/health"))
    set_state(
        api.settings.effective_database_url,
        monitor["id"],
        last_status_code=200,
        last_check_at=datetime(2026, 3, 12, 18, 45, 30, tzinfo=UTC),
        last_response_time_ms=142.35,
        latency_count=20,
        latency_sum_ms=20 * 187.44,
        latency_min_ms=98.12,
        latency_max_ms=1523.67,
        last_spike={
            "datetime": "2026-03-12T18:30:10.000Z",
            "response_time_ms": 482.15,
            "baseline_avg_ms": 187.44,
            "diff_percent": 157.2,
        },
    )

    status = task_status(http, monitor["id"])

    assert status == {
        "task_id": monitor["id"],
        "website": "127.0.0.1",
        "uri": "/api/health",
        "http_code": 200,
        "last_check": "2026-03-12T18:45:30Z",
        "response_time_ms": 142.35,
        "min_ms": 98.12,
        "max_ms": 1523.67,
        "avg_ms": 187.44,
        "last_spike": {
            "datetime": "2026-03-12T18:30:10Z",
            "response_time_ms": 482.15,
            "baseline_avg_ms": 187.44,
            "diff_percent": 157.2,
        },
    }


def test_a_spike_against_a_zero_baseline_has_a_null_diff_percent(
    api: ApiHarness, http: httpx.Client, target: Target
) -> None:
    monitor = create_monitor(http, target.url("/"))
    spike = {
        "datetime": "2026-03-12T17:15:00.000Z",
        "response_time_ms": 482.15,
        "baseline_avg_ms": 0.0,
        "diff_percent": None,
    }
    set_state(api.settings.effective_database_url, monitor["id"], last_spike=spike)

    rendered = task_status(http, monitor["id"])["last_spike"]

    assert rendered == {
        "datetime": "2026-03-12T17:15:00Z",
        "response_time_ms": 482.15,
        "baseline_avg_ms": 0.0,
        "diff_percent": None,
    }


def test_task_status_without_a_valid_task_id_is_400_task_id_is_required(
    http: httpx.Client,
) -> None:
    for params in ({}, {"task_id": ""}, {"task_id": "not-a-uuid"}, {"task_id": "42"}):
        response = http.get(TASK_STATUS, params=params)
        assert error(response, 400) == "task_id is required.", params


def test_an_unknown_task_or_another_organizations_task_is_404_task_not_found(
    api: ApiHarness, http: httpx.Client, target: Target
) -> None:
    stranger = api.seed.tenant()
    with api.client(**{"X-Api-Key": stranger.owner.token}) as their_http:
        theirs = create_monitor(their_http, target.url("/"))
        assert task_status(their_http, theirs["id"])["task_id"] == theirs["id"]

    unknown = http.get(TASK_STATUS, params={"task_id": str(uuid.uuid4())})
    foreign = http.get(TASK_STATUS, params={"task_id": theirs["id"]})

    assert error(unknown, 404) == "Task not found."
    assert error(foreign, 404) == "Task not found."
    assert foreign.json()["code"] == unknown.json()["code"] == "NOT_FOUND"


@pytest.mark.parametrize("path", [TASK_STATUS, WEBSITE_TASKS])
def test_a_missing_or_invalid_api_key_is_401_invalid_api_key(api: ApiHarness, path: str) -> None:
    param = "task_id" if path == TASK_STATUS else "website_id"
    params = {param: str(uuid.uuid4())}
    with api.client() as anonymous:
        missing = anonymous.get(path, params=params)
        invalid = anonymous.get(path, params=params, headers={"X-Api-Key": "uw_" + "x" * 43})
        garbage = anonymous.get(path, params=params, headers={"X-Api-Key": "let me in"})

    for response in (missing, invalid, garbage):
        assert error(response, 401) == "Invalid API key."


def test_a_bearer_token_works_as_well_as_x_api_key(
    api: ApiHarness, tenant: Tenant, http: httpx.Client, target: Target
) -> None:
    monitor = create_monitor(http, target.url("/"))

    with api.client(tenant.owner.token) as bearer:
        assert task_status(bearer, monitor["id"])["task_id"] == monitor["id"]


def test_a_key_without_monitors_read_is_refused_with_403(
    api: ApiHarness, tenant: Tenant, http: httpx.Client, target: Target
) -> None:
    monitor = create_monitor(http, target.url("/"))
    narrow = api.seed.token_for(tenant.owner, tenant.organization_id, ["events:read"])

    with api.client(**{"X-Api-Key": narrow}) as client:
        response = client.get(TASK_STATUS, params={"task_id": monitor["id"]})

    assert response.status_code == 403, response.text
    assert response.json()["code"] == "TOKEN_SCOPE_INSUFFICIENT"


# --- GET /website/tasks ----------------------------------------------------------------


def create_website(http: httpx.Client, domain: str) -> dict[str, Any]:
    return ok(http.post("/api/v1/websites", json={"domain": domain}), 201)  # type: ignore[no-any-return]


def test_website_tasks_lists_each_task_with_exactly_the_documented_keys(
    http: httpx.Client, target: Target
) -> None:
    website = create_website(http, "127.0.0.1")
    health = create_monitor(http, target.url("/api/health"), name="Health", interval_seconds=60)
    home = create_monitor(
        http,
        target.url("/"),
        name="Home",
        execution_mode="background",
        interval_seconds=300,
        config={"method": "POST"},
    )
    paused = create_monitor(http, target.url("/old"), name="Old", is_active=False)
    create_monitor(http, "http://example.com/elsewhere", name="Not this website")
    result = run(http, health)["check"]

    answer = ok(http.get(WEBSITE_TASKS, params={"website_id": website["id"]}))

    assert set(answer) == {"website_id", "domain", "is_verified", "tasks"}
    assert (answer["website_id"], answer["domain"], answer["is_verified"]) == (
        website["id"],
        "127.0.0.1",
        False,
    )
    tasks = {task["task_id"]: task for task in answer["tasks"]}
    assert set(tasks) == {health["id"], home["id"], paused["id"]}
    for task in answer["tasks"]:
        assert set(task) == WEBSITE_TASK_KEYS
    checked = tasks[health["id"]]
    assert checked | {"last_check": None} == {
        "task_id": health["id"],
        "uri": "/api/health",
        "http_method": "GET",
        "frequency_seconds": 60,
        "concurrency": 1,
        "execution_mode": "on_demand",
        "is_active": True,
        "http_code": 200,
        "last_check": None,
        "response_time_ms": round(result["latency_ms"], 2),
        "min_ms": round(result["latency_ms"], 2),
        "max_ms": round(result["latency_ms"], 2),
        "avg_ms": round(result["latency_ms"], 2),
        "last_spike": None,
    }
    assert parse_z(checked["last_check"]).tzinfo == UTC
    assert tasks[home["id"]] == {
        "task_id": home["id"],
        "uri": "/",
        "http_method": "POST",
        "frequency_seconds": 300,
        "concurrency": 1,
        "execution_mode": "background",
        "is_active": True,
        "http_code": None,
        "last_check": None,
        "response_time_ms": None,
        "min_ms": None,
        "max_ms": None,
        "avg_ms": None,
        "last_spike": None,
    }
    assert (tasks[paused["id"]]["is_active"], tasks[paused["id"]]["uri"]) == (False, "/old")


def test_website_tasks_of_a_website_without_monitors_is_an_empty_list(
    http: httpx.Client,
) -> None:
    website = create_website(http, "quiet.example.org")

    answer = ok(http.get(WEBSITE_TASKS, params={"website_id": website["id"]}))

    assert answer == {
        "website_id": website["id"],
        "domain": "quiet.example.org",
        "is_verified": False,
        "tasks": [],
    }


def test_website_tasks_says_when_the_website_is_verified(
    api: ApiHarness, http: httpx.Client
) -> None:
    website = create_website(http, "verified.example.org")
    set_verified(api.settings.effective_database_url, website["id"])

    answer = ok(http.get(WEBSITE_TASKS, params={"website_id": website["id"]}))

    assert answer["is_verified"] is True


def test_website_tasks_shows_a_stored_spike_in_osminog_shape(
    api: ApiHarness, http: httpx.Client, target: Target
) -> None:
    website = create_website(http, "127.0.0.1")
    monitor = create_monitor(http, target.url("/"))
    spike = {
        "datetime": "2026-03-12T17:15:00.123Z",
        "response_time_ms": 482.15,
        "baseline_avg_ms": 112.33,
        "diff_percent": 329.2,
    }
    set_state(api.settings.effective_database_url, monitor["id"], last_spike=spike)

    answer = ok(http.get(WEBSITE_TASKS, params={"website_id": website["id"]}))

    assert answer["tasks"][0]["last_spike"] == spike | {"datetime": "2026-03-12T17:15:00Z"}


def test_website_tasks_without_a_valid_website_id_is_400_website_id_is_required(
    http: httpx.Client,
) -> None:
    for params in ({}, {"website_id": ""}, {"website_id": "example.com"}):
        response = http.get(WEBSITE_TASKS, params=params)
        assert error(response, 400) == "website_id is required.", params


def test_an_unknown_or_another_organizations_website_is_404_website_not_found(
    api: ApiHarness, http: httpx.Client
) -> None:
    stranger = api.seed.tenant()
    with api.client(**{"X-Api-Key": stranger.owner.token}) as their_http:
        theirs = create_website(their_http, "127.0.0.1")

    unknown = http.get(WEBSITE_TASKS, params={"website_id": str(uuid.uuid4())})
    foreign = http.get(WEBSITE_TASKS, params={"website_id": theirs["id"]})

    assert error(unknown, 404) == "Website not found."
    assert error(foreign, 404) == "Website not found."


# --- spikes, end to end ----------------------------------------------------------------


def stored_baseline(api: ApiHarness, monitor: dict[str, Any]) -> tuple[float, int]:
    """The latency sum and count the engine stored after its last check."""

    async def work() -> tuple[float, int]:
        database = Database(api.settings.effective_database_url)
        try:
            async with database.session() as session:
                internal = select(Monitor.id).where(Monitor.public_id == uuid.UUID(monitor["id"]))
                state = (
                    await session.execute(
                        select(MonitorState).where(
                            MonitorState.monitor_id == internal.scalar_subquery()
                        )
                    )
                ).scalar_one()
                return state.latency_sum_ms, state.latency_count
        finally:
            await database.dispose()

    return asyncio.run(work())


def test_a_slow_response_after_a_baseline_of_fast_checks_is_a_spike(
    api: ApiHarness, http: httpx.Client, target: Target
) -> None:
    monitor = create_monitor(
        http, target.url("/"), name="Spiky", spike_threshold_percent=50, spike_consecutive=1
    )
    for _ in range(10):
        run(http, monitor)
    assert ok(http.get(f"{MONITORS}/{monitor['id']}"))["last_spike"] is None
    total, count = stored_baseline(api, monitor)
    assert count == 10

    target.delay = SLOW_SECONDS
    slow = run(http, monitor)["check"]

    baseline = total / count
    rt = slow["latency_ms"]
    expected = {
        "response_time_ms": round(rt, 2),
        "baseline_avg_ms": round(baseline, 2),
        "diff_percent": round((rt - baseline) / baseline * 100, 1),
    }
    detail = ok(http.get(f"{MONITORS}/{monitor['id']}"))["last_spike"]
    assert detail | {"datetime": None} == expected | {"datetime": None}
    assert parse_api(detail["datetime"]) == parse_api(slow["checked_at"])
    osminog = task_status(http, monitor["id"])["last_spike"]
    assert set(osminog) == SPIKE_KEYS
    assert osminog | {"datetime": None} == expected | {"datetime": None}
    assert abs((parse_z(osminog["datetime"]) - parse_api(slow["checked_at"])).total_seconds()) < 1


def test_by_default_a_spike_needs_three_slow_checks_in_a_row_and_one_alert_is_raised(
    http: httpx.Client, target: Target
) -> None:
    """One slow answer is noise (a loopback monitor's 16 ms against 7 ms was "123 %"): the
    default asks for 3 consecutive slow checks, each at least 100 ms above the baseline."""
    monitor = create_monitor(http, target.url("/"))
    detail = ok(http.get(f"{MONITORS}/{monitor['id']}"))
    assert (detail["spike_min_diff_ms"], detail["spike_consecutive"]) == (100.0, 3)
    for _ in range(10):
        run(http, monitor)

    target.delay = SLOW_SECONDS
    run(http, monitor)
    run(http, monitor)
    assert task_status(http, monitor["id"])["last_spike"] is None
    third = run(http, monitor)["check"]

    spike = task_status(http, monitor["id"])["last_spike"]
    assert spike is not None
    assert spike["response_time_ms"] == round(third["latency_ms"], 2)
    run(http, monitor)  # still slow: the same streak, no second spike
    assert task_status(http, monitor["id"])["last_spike"] == spike


def test_a_slow_check_less_than_the_minimum_difference_above_the_baseline_is_no_spike(
    http: httpx.Client, target: Target
) -> None:
    monitor = create_monitor(
        http, target.url("/"), spike_threshold_percent=50, spike_consecutive=1,
        spike_min_diff_ms=60_000,
    )  # fmt: skip
    for _ in range(10):
        run(http, monitor)

    target.delay = SLOW_SECONDS
    run(http, monitor)

    assert task_status(http, monitor["id"])["last_spike"] is None


def test_a_fast_response_after_a_spike_keeps_the_last_spike(
    http: httpx.Client, target: Target
) -> None:
    monitor = create_monitor(http, target.url("/"), spike_threshold_percent=50, spike_consecutive=1)
    for _ in range(10):
        run(http, monitor)
    target.delay = SLOW_SECONDS
    run(http, monitor)
    spike = task_status(http, monitor["id"])["last_spike"]

    # A threshold no loopback answer can reach: the next check is certainly no spike.
    ok(http.patch(f"{MONITORS}/{monitor['id']}", json={"spike_threshold_percent": 100_000}))
    target.delay = 0.0
    run(http, monitor)

    assert spike is not None
    assert task_status(http, monitor["id"])["last_spike"] == spike


def test_fewer_than_ten_checks_are_no_baseline_for_a_spike(
    http: httpx.Client, target: Target
) -> None:
    monitor = create_monitor(http, target.url("/"), spike_threshold_percent=50, spike_consecutive=1)
    for _ in range(9):
        run(http, monitor)

    target.delay = SLOW_SECONDS
    run(http, monitor)

    assert task_status(http, monitor["id"])["last_spike"] is None


def test_a_stored_baseline_of_twenty_checks_makes_a_slow_check_a_spike_after_a_restart(
    make_settings: SettingsFactory, database_url: str, target: Target
) -> None:
    """The engine keeps live numbers in memory and loads them when it starts: a baseline
    written to the database while the app is stopped is the one the next check uses."""
    settings = make_settings(database_url=database_url, run_checks=False)
    tenant = Seeder(settings.effective_database_url).tenant()
    headers = {"X-Api-Key": tenant.owner.token}
    with (
        serving(create_app(settings)) as url,
        httpx.Client(base_url=url, headers=headers, timeout=30) as http,
    ):
        monitor = create_monitor(
            http, target.url("/api/health"), spike_threshold_percent=50, spike_consecutive=1
        )
    set_state(
        settings.effective_database_url,
        monitor["id"],
        latency_count=20,
        latency_sum_ms=3748.8,
        latency_min_ms=98.12,
        latency_max_ms=1523.67,
        last_status_code=200,
        last_check_at=datetime(2026, 3, 12, 18, 45, 30, tzinfo=UTC),
        last_response_time_ms=142.35,
    )
    target.delay = SLOW_SECONDS

    with (
        serving(create_app(settings)) as url,
        httpx.Client(base_url=url, headers=headers, timeout=30) as http,
    ):
        slow = run(http, monitor)["check"]
        status = task_status(http, monitor["id"])

    rt = slow["latency_ms"]
    baseline = 3748.8 / 20
    assert status["last_spike"] | {"datetime": None} == {
        "datetime": None,
        "response_time_ms": round(rt, 2),
        "baseline_avg_ms": 187.44,
        "diff_percent": round((rt - baseline) / baseline * 100, 1),
    }
    assert status["min_ms"] == 98.12
    assert status["max_ms"] == 1523.67
    assert status["avg_ms"] == pytest.approx((3748.8 + rt) / 21, abs=0.006)
    assert status["response_time_ms"] == round(rt, 2)
    assert status["http_code"] == 200
