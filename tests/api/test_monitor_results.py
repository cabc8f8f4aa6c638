"""A monitor's checks over real HTTP on each backend, against real loopback targets: run now,
the scheduler (background, on-demand, paused), state changes, the raw checks (JSON and CSV),
statistics, timeline and daily uptime."""

from __future__ import annotations

import asyncio
import csv
import io
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
import pytest
from aiohttp import web

from tests.api.conftest import Serve
from tests.support.http_target import HttpTarget, serving_http
from tests.support.sockets import closed_port
from tests.support.waiting import until

MONITORS = "/api/v1/monitors"
DEADLINE_SECONDS = 30
CSV_HEADER = (
    "checked_at,scheduled_at,ok,status,latency_ms,status_code,error_code,reason,dns_ms,"
    "connect_ms,tls_ms,ttfb_ms,transfer_ms,requests,failed_requests"
)
T = TypeVar("T")


# --- real targets, served from a thread while the test makes blocking calls ---------------


class TargetLoop:
    """An event loop in a thread for the targets: the test thread blocks on the API, which
    checks the targets, so they cannot share the test's loop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="targets", daemon=True)
        self._thread.start()

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout=30)

    @contextmanager
    def serve(self, manager: AbstractAsyncContextManager[T]) -> Iterator[T]:
        value = self.run(manager.__aenter__())
        try:
            yield value
        finally:
            self.run(manager.__aexit__(None, None, None))

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


@asynccontextmanager
async def answering_on(port: int) -> AsyncIterator[None]:
    """A plain HTTP server answering 200 at /ok on a given port."""

    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="back again")

    app = web.Application()
    app.router.add_get("/ok", ok)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield
    finally:
        await runner.cleanup()


@pytest.fixture
def targets() -> Iterator[TargetLoop]:
    loop = TargetLoop()
    yield loop
    loop.close()


@pytest.fixture
def target(targets: TargetLoop) -> Iterator[HttpTarget]:
    with targets.serve(serving_http()) as served:
        yield served


# --- the app, its tenant, and helpers -----------------------------------------------------


@pytest.fixture
def fast(serve: Serve) -> Iterator[httpx.Client]:
    """An owner's client of an app whose scheduler may check every second."""
    api = serve(min_interval_seconds=1, run_checks=True)
    tenant = api.seed.tenant()
    with api.client(tenant.owner.token) as client:
        yield client


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def create(http: httpx.Client, target: str, **fields: Any) -> dict[str, Any]:
    body = {
        "name": "Target",
        "kind": "http",
        "target": target,
        "interval_seconds": 10,
        "timeout_ms": 2000,
        "execution_mode": "on_demand",
        **fields,
    }
    return ok(http.post(MONITORS, json=body), 201)  # type: ignore[no-any-return]


def run(http: httpx.Client, monitor: dict[str, Any]) -> dict[str, Any]:
    return ok(http.post(f"{MONITORS}/{monitor['id']}/run"))  # type: ignore[no-any-return]


def checks(http: httpx.Client, monitor: dict[str, Any], **params: Any) -> list[dict[str, Any]]:
    answer = ok(http.get(f"{MONITORS}/{monitor['id']}/checks", params={"limit": 100, **params}))
    return answer["data"]  # type: ignore[no-any-return]


def count(http: httpx.Client, monitor: dict[str, Any]) -> int:
    return len(checks(http, monitor))


# --- run now ------------------------------------------------------------------------------


def test_running_a_monitor_checks_the_target_and_returns_the_check(
    http: httpx.Client, target: HttpTarget
) -> None:
    monitor = create(http, target.url("/ok"))

    result = run(http, monitor)

    check, after = result["check"], result["monitor"]
    assert (check["ok"], check["status_code"], check["status"]) == (True, 200, "up")
    assert (check["error_code"], check["reason"]) == (None, None)
    assert check["latency_ms"] > 0
    assert check["phases"]["connect_ms"] is not None
    assert check["phases"]["ttfb_ms"] is not None
    assert set(check["phases"]) == {"dns_ms", "connect_ms", "tls_ms", "ttfb_ms", "transfer_ms"}
    assert (check["requests"], check["failed_requests"]) == (1, 0)
    assert target.hits["/ok"] == 1
    assert after["status"] == "up"
    assert after["last_check_at"] == check["checked_at"]
    assert after["last_status_code"] == 200
    assert after["last_response_time_ms"] == check["latency_ms"]
    assert ok(http.get(f"{MONITORS}/{monitor['id']}")) == after
    assert checks(http, monitor) == [check]


def test_a_run_sends_the_stored_secret_values(http: httpx.Client, target: HttpTarget) -> None:
    config = {
        "headers": {"X-Api-Key": "the-real-key"},
        "basic_auth": {"username": "alice", "password": "secret"},
    }
    monitor = create(http, target.url("/auth"), config=config)

    assert run(http, monitor)["check"]["status_code"] == 200
    assert target.received[-1].headers["X-Api-Key"] == "the-real-key"


def test_a_refused_connection_takes_the_monitor_down_and_an_answer_brings_it_back(
    http: httpx.Client, targets: TargetLoop
) -> None:
    port = closed_port()
    monitor = create(http, f"http://127.0.0.1:{port}/ok", failure_threshold=1)

    down = run(http, monitor)

    assert (down["check"]["ok"], down["check"]["error_code"]) == (False, "CONNECTION_REFUSED")
    assert down["check"]["status"] == "down"
    assert down["check"]["reason"]
    assert down["monitor"]["status"] == "down"
    assert down["monitor"]["last_error_code"] == "CONNECTION_REFUSED"
    assert down["monitor"]["last_error"] == down["check"]["reason"]

    with targets.serve(answering_on(port)):
        up = run(http, monitor)

    assert (up["check"]["ok"], up["check"]["status_code"]) == (True, 200)
    assert up["monitor"]["status"] == "up"
    assert (up["monitor"]["last_error_code"], up["monitor"]["last_error"]) == (None, None)


def test_a_monitor_goes_down_only_at_its_failure_threshold(
    http: httpx.Client, target: HttpTarget
) -> None:
    monitor = create(http, target.url("/status/503"), failure_threshold=2)

    first, second = run(http, monitor), run(http, monitor)

    assert first["check"]["error_code"] == "UNEXPECTED_STATUS"
    assert first["monitor"]["status"] == "pending"
    assert second["monitor"]["status"] == "down"
    assert second["monitor"]["last_status_code"] == 503


def test_running_an_unknown_monitor_is_not_found(http: httpx.Client) -> None:
    response = http.post(f"{MONITORS}/0190a000-0000-7000-8000-000000000000/run")
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "NOT_FOUND"


# --- the scheduler ------------------------------------------------------------------------


def test_an_on_demand_monitor_is_never_scheduled_but_runs_on_request(
    fast: httpx.Client, target: HttpTarget
) -> None:
    background = create(
        fast, target.url("/ok"), execution_mode="background", interval_seconds=1, timeout_ms=500
    )
    on_demand = create(fast, target.url("/status/204"), interval_seconds=1, timeout_ms=500)

    until(lambda: count(fast, background) >= 3, "three background checks")

    assert count(fast, on_demand) == 0
    assert target.hits["/status/204"] == 0
    assert ok(fast.get(f"{MONITORS}/{on_demand['id']}"))["status"] == "pending"
    assert run(fast, on_demand)["check"]["status_code"] == 204
    assert count(fast, on_demand) == 1


def test_a_paused_monitor_is_not_checked_until_it_is_resumed(
    fast: httpx.Client, target: HttpTarget
) -> None:
    every_second = {"execution_mode": "background", "interval_seconds": 1, "timeout_ms": 500}
    watched = create(fast, target.url("/ok"), **every_second)
    control = create(fast, target.url("/json"), **every_second)
    until(lambda: count(fast, watched) >= 1, "a first check")

    paused = ok(fast.post(f"{MONITORS}/{watched['id']}/pause"))
    assert paused["status"] == "paused"
    assert ok(fast.get(f"{MONITORS}/{watched['id']}"))["status"] == "paused"

    # A check already under way may still land; then nothing more while the control ticks on.
    settled = count(fast, control) + 2
    until(lambda: count(fast, control) >= settled, "the control to check twice")
    frozen = count(fast, watched)
    more = count(fast, control) + 3
    until(lambda: count(fast, control) >= more, "the control to check three more times")
    assert count(fast, watched) == frozen
    assert ok(fast.get(f"{MONITORS}/{watched['id']}"))["status"] == "paused"

    ok(fast.post(f"{MONITORS}/{watched['id']}/resume"))
    until(lambda: count(fast, watched) > frozen, "a check after resuming")
    until(
        lambda: ok(fast.get(f"{MONITORS}/{watched['id']}"))["status"] == "up",
        "the resumed monitor to show up",
    )


def test_background_checks_fill_in_the_live_state(fast: httpx.Client, target: HttpTarget) -> None:
    monitor = create(
        fast, target.url("/ok"), execution_mode="background", interval_seconds=1, timeout_ms=500
    )
    url = f"{MONITORS}/{monitor['id']}"

    until(lambda: ok(fast.get(url))["last_check_at"] is not None, "a background check")

    state = ok(fast.get(url))
    assert state["status"] == "up"
    assert state["last_status_code"] == 200
    assert state["next_check_at"] is not None
    listed = ok(fast.get(MONITORS))["data"][0]
    assert (listed["status"], listed["last_status_code"]) == ("up", 200)


# --- the raw checks -----------------------------------------------------------------------


@pytest.fixture
def history(http: httpx.Client, target: HttpTarget) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """An on-demand monitor run five times: three successes, then two failures."""
    monitor = create(http, target.url("/ok"))
    ran = [run(http, monitor)["check"] for _ in range(3)]
    ok(http.patch(f"{MONITORS}/{monitor['id']}", json={"target": target.url("/status/500")}))
    ran += [run(http, monitor)["check"] for _ in range(2)]
    return monitor, ran


def test_checks_are_listed_newest_first(
    http: httpx.Client, history: tuple[dict[str, Any], list[dict[str, Any]]]
) -> None:
    monitor, ran = history

    listed = checks(http, monitor)

    assert listed == ran[::-1]
    assert [check["ok"] for check in listed] == [False, False, True, True, True]
    assert [check["status_code"] for check in listed] == [500, 500, 200, 200, 200]


def test_checks_page_by_cursor(
    http: httpx.Client, history: tuple[dict[str, Any], list[dict[str, Any]]]
) -> None:
    monitor, ran = history
    seen: list[dict[str, Any]] = []
    cursor = None
    for _ in range(5):
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        answer = ok(http.get(f"{MONITORS}/{monitor['id']}/checks", params=params))
        seen += answer["data"]
        cursor = answer["pagination"]["next_cursor"]
        if cursor is None:
            break
    assert seen == ran[::-1]
    bad = http.get(f"{MONITORS}/{monitor['id']}/checks", params={"cursor": "%%%"})
    assert bad.status_code == 400, bad.text


def test_checks_filter_by_time_from_inclusive_to_exclusive(
    http: httpx.Client, history: tuple[dict[str, Any], list[dict[str, Any]]]
) -> None:
    monitor, ran = history
    moments = [check["checked_at"] for check in ran]

    assert checks(http, monitor, **{"from": moments[1]}) == ran[:0:-1]
    assert checks(http, monitor, to=moments[3]) == ran[2::-1]
    assert checks(http, monitor, **{"from": moments[1], "to": moments[3]}) == [ran[2], ran[1]]
    naive = http.get(f"{MONITORS}/{monitor['id']}/checks", params={"from": "2024-01-01T00:00:00"})
    assert naive.status_code == 400, naive.text
    assert naive.json()["fields"][0]["path"] == "from"


def test_checks_export_as_csv(
    http: httpx.Client, history: tuple[dict[str, Any], list[dict[str, Any]]]
) -> None:
    monitor, ran = history

    response = http.get(f"{MONITORS}/{monitor['id']}/checks", params={"format": "csv"})

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.text.splitlines()[0] == CSV_HEADER
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["checked_at"] for row in rows] == [check["checked_at"] for check in ran[::-1]]
    assert [row["status_code"] for row in rows] == ["500", "500", "200", "200", "200"]
    assert [row["ok"] for row in rows] == ["False", "False", "True", "True", "True"]
    assert rows[0]["error_code"] == "UNEXPECTED_STATUS"
    assert rows[-1]["error_code"] == ""


# --- statistics ---------------------------------------------------------------------------


def at(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp)


def expected_stats(ran: list[dict[str, Any]]) -> dict[str, Any]:
    latencies = [check["latency_ms"] for check in ran if check["ok"]]
    failures = sum(1 for check in ran if not check["ok"])
    return {
        "checks": len(ran),
        "failures": failures,
        "uptime_percent": round((len(ran) - failures) / len(ran) * 100, 3),
        "min_ms": min(latencies),
        "max_ms": max(latencies),
        "avg_ms": pytest.approx(sum(latencies) / len(latencies), abs=0.01),
    }


@pytest.mark.parametrize("window", ["1h", "24h", "7d", "30d", "90d", "all"])
def test_stats_agree_with_the_raw_checks(
    http: httpx.Client, history: tuple[dict[str, Any], list[dict[str, Any]]], window: str
) -> None:
    monitor, _ = history
    raw = checks(http, monitor)

    stats = ok(http.get(f"{MONITORS}/{monitor['id']}/stats", params={"window": window}))

    assert stats["window"] == window
    assert {name: stats[name] for name in expected_stats(raw)} == expected_stats(raw)
    assert (stats["checks"], stats["failures"], stats["uptime_percent"]) == (5, 2, 60.0)
    assert stats["min_ms"] <= stats["p50_ms"] <= stats["p95_ms"] <= stats["max_ms"]
    assert at(stats["since"]) <= at(raw[-1]["checked_at"])
    assert at(raw[0]["checked_at"]) < at(stats["until"])


def test_stats_can_leave_out_the_checks_made_during_maintenance(
    http: httpx.Client, target: HttpTarget
) -> None:
    monitor = create(http, target.url("/ok"))
    path = f"{MONITORS}/{monitor['id']}"
    run(http, monitor)
    # Planned work: the target answers 500 while the monitor is in maintenance.
    ok(http.patch(path, json={"maintenance_mode": True, "target": target.url("/status/500")}))
    during = [run(http, monitor)["check"] for _ in range(2)]
    ok(http.patch(path, json={"maintenance_mode": False, "target": target.url("/ok")}))
    run(http, monitor)
    assert [check["ok"] for check in during] == [False, False]

    counted = ok(http.get(f"{path}/stats", params={"window": "1h"}))
    left_out = ok(http.get(f"{path}/stats", params={"window": "1h", "exclude_maintenance": "true"}))

    assert (counted["checks"], counted["failures"], counted["uptime_percent"]) == (4, 2, 50.0)
    assert (left_out["checks"], left_out["failures"], left_out["uptime_percent"]) == (2, 0, 100.0)
    assert counted["maintenance_checks"] == left_out["maintenance_checks"] == 2
    daily = ok(http.get(f"{path}/uptime/daily", params={"days": 1, "exclude_maintenance": "true"}))
    assert [(day["checks"], day["failures"]) for day in daily["data"]] == [(2, 0)]
    timeline = ok(
        http.get(f"{path}/timeline", params={"window": "1h", "exclude_maintenance": "true"})
    )
    assert sum(bucket["checks"] for bucket in timeline["buckets"]) == 2
    assert sum(bucket["failures"] for bucket in timeline["buckets"]) == 0


def test_stats_of_a_monitor_without_checks_are_empty(http: httpx.Client) -> None:
    monitor = create(http, "http://127.0.0.1:9/")

    stats = ok(http.get(f"{MONITORS}/{monitor['id']}/stats"))

    assert stats["window"] == "24h"
    assert (stats["checks"], stats["failures"], stats["uptime_percent"]) == (0, 0, None)
    assert (stats["min_ms"], stats["max_ms"], stats["avg_ms"]) == (None, None, None)


def test_an_unknown_stats_window_is_refused(http: httpx.Client) -> None:
    monitor = create(http, "http://127.0.0.1:9/")
    response = http.get(f"{MONITORS}/{monitor['id']}/stats", params={"window": "2h"})
    assert response.status_code == 400, response.text
    assert response.json()["fields"][0]["path"] == "window"


def test_the_timeline_buckets_add_up_to_the_checks(
    http: httpx.Client, history: tuple[dict[str, Any], list[dict[str, Any]]]
) -> None:
    monitor, ran = history

    timeline = ok(
        http.get(f"{MONITORS}/{monitor['id']}/timeline", params={"window": "1h", "buckets": 60})
    )

    assert timeline["bucket_seconds"] == 60
    assert len(timeline["buckets"]) == 60
    starts = [bucket["start"] for bucket in timeline["buckets"]]
    assert starts == sorted(starts)
    assert sum(bucket["checks"] for bucket in timeline["buckets"]) == len(ran)
    assert sum(bucket["failures"] for bucket in timeline["buckets"]) == 2
    empty = [bucket for bucket in timeline["buckets"] if bucket["checks"] == 0]
    assert all(bucket["uptime_percent"] is None for bucket in empty)


def test_daily_uptime_has_one_entry_per_day_with_todays_counts(
    http: httpx.Client, history: tuple[dict[str, Any], list[dict[str, Any]]]
) -> None:
    monitor, ran = history
    assert len(ran) == 5

    daily = ok(http.get(f"{MONITORS}/{monitor['id']}/uptime/daily", params={"days": 7}))["data"]

    today = at(ran[-1]["checked_at"]).astimezone(UTC).date()
    assert [day["date"] for day in daily] == [
        (today - timedelta(days=back)).isoformat() for back in range(6, -1, -1)
    ]
    assert daily[-1] == {
        "date": today.isoformat(),
        "checks": 5,
        "failures": 2,
        "uptime_percent": 60.0,
    }
    assert [(day["checks"], day["failures"], day["uptime_percent"]) for day in daily[:-1]] == [
        (0, 0, None)
    ] * 6
    assert len(ok(http.get(f"{MONITORS}/{monitor['id']}/uptime/daily"))["data"]) == 90
    too_many = http.get(f"{MONITORS}/{monitor['id']}/uptime/daily", params={"days": 401})
    assert too_many.status_code == 400, too_many.text
