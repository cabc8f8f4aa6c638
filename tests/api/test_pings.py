"""Heartbeat pings over real HTTP on each backend: the Healthchecks-compatible ping URLs
(`/ping/{uuid}[/start|/fail|/log|/{exit_code}]`, `/ping/{key}/{slug}[...]`, the token form
`POST|HEAD /api/v1/heartbeats/{uuid}`), what they store (pings, runs, bodies), how they
change a heartbeat's state, the per-IP rate limit, the group-commit writer under concurrent
pings, the live events they publish, and that the ping token never reaches the logs."""

from __future__ import annotations

import itertools
import logging
import random
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.api.conftest import Serve
from tests.conftest import ApiHarness, SettingsFactory
from tests.support.accounts import Tenant
from tests.support.sse import event_stream
from upwatch.settings import Settings

HEARTBEATS = "/api/v1/heartbeats"
METHODS = ["GET", "POST", "HEAD"]


# --- fixtures and helpers --------------------------------------------------------------


@pytest.fixture
def api_settings(
    request: pytest.FixtureRequest, make_settings: SettingsFactory, database_url: str
) -> Settings:
    """The default settings, or overrides given by parametrizing `api_settings` indirectly."""
    return make_settings(database_url=database_url, **getattr(request, "param", {}))


def with_settings(**overrides: Any) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("api_settings", [overrides], indirect=True, ids=["settings"])


@pytest.fixture
def tenant(api: ApiHarness) -> Tenant:
    return api.seed.tenant()


@pytest.fixture
def http(api: ApiHarness, tenant: Tenant) -> Iterator[httpx.Client]:
    """The owner's authenticated client, to create and read heartbeats."""
    with api.client(tenant.owner.token) as client:
        yield client


@pytest.fixture
def pinger(api: ApiHarness) -> Iterator[httpx.Client]:
    """A client without credentials, as a cron job pinging would be."""
    with api.client() as client:
        yield client


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def create_heartbeat(http: httpx.Client, **fields: Any) -> dict[str, Any]:
    body = {"name": "Nightly backup", "period_seconds": 3600, **fields}
    return ok(http.post(HEARTBEATS, json=body), 201)  # type: ignore[no-any-return]


def ping_path(heartbeat: dict[str, Any], suffix: str = "") -> str:
    """The path of the heartbeat's ping URL (`/ping/{uuid}`), plus `suffix`."""
    url: str = heartbeat["ping_url"]
    return urlsplit(url).path + suffix


def token_of(heartbeat: dict[str, Any]) -> str:
    return ping_path(heartbeat).rsplit("/", 1)[1]


def read(http: httpx.Client, heartbeat: dict[str, Any]) -> dict[str, Any]:
    return ok(http.get(f"{HEARTBEATS}/{heartbeat['id']}"))  # type: ignore[no-any-return]


def pings(
    http: httpx.Client, heartbeat: dict[str, Any], *, include_body: bool = False
) -> list[dict[str, Any]]:
    params = {"include_body": "true"} if include_body else {}
    page = ok(http.get(f"{HEARTBEATS}/{heartbeat['id']}/pings", params=params))
    return page["data"]  # type: ignore[no-any-return]


def runs(http: httpx.Client, heartbeat: dict[str, Any]) -> list[dict[str, Any]]:
    return ok(http.get(f"{HEARTBEATS}/{heartbeat['id']}/runs"))["data"]  # type: ignore[no-any-return]


def pinged(response: httpx.Response, method: str = "GET") -> None:
    """A ping was accepted: 200 with `OK` (an empty body to HEAD)."""
    assert response.status_code == 200, response.text
    assert response.text == ("" if method == "HEAD" else "OK")


def not_found(response: httpx.Response) -> None:
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "NOT_FOUND"


def stored_pings(api: ApiHarness) -> int:
    count = api.seed.scalar("select count(*) from heartbeat_pings")
    assert isinstance(count, int)
    return count


def counts(api: ApiHarness, sql: str) -> dict[str, object]:
    """`select key, count(*) ... group by key` as a dict."""
    return {str(key): count for key, count in api.seed.rows(sql)}


# --- each ping form, with each method --------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_a_success_ping_answers_ok_and_brings_the_heartbeat_up(
    http: httpx.Client, pinger: httpx.Client, method: str
) -> None:
    heartbeat = create_heartbeat(http)
    assert heartbeat["status"] == "pending"

    response = pinger.request(method, ping_path(heartbeat))

    pinged(response, method)
    assert response.headers["content-type"].startswith("text/plain")
    after = read(http, heartbeat)
    assert after["status"] == "up"
    assert after["reason"] is None
    assert after["last_ping_kind"] == "success"
    assert after["pings"] == 1
    assert after["last_ping_at"] is not None
    (stored,) = pings(http, heartbeat)
    assert (stored["kind"], stored["method"]) == ("success", method)
    (run,) = runs(http, heartbeat)
    assert run["outcome"] == "success"
    assert run["started_at"] is None  # a job that only reports its end


@pytest.mark.parametrize("method", METHODS)
def test_a_start_ping_opens_a_run_and_leaves_the_status_alone(
    http: httpx.Client, pinger: httpx.Client, method: str
) -> None:
    heartbeat = create_heartbeat(http)

    pinged(pinger.request(method, ping_path(heartbeat, "/start")), method)

    after = read(http, heartbeat)
    assert after["status"] == "pending"
    assert after["running"] is True
    assert after["last_ping_kind"] == "start"
    (stored,) = pings(http, heartbeat)
    assert (stored["kind"], stored["method"]) == ("start", method)
    (run,) = runs(http, heartbeat)
    assert run["outcome"] == "in_progress"
    assert run["started_at"] is not None
    assert run["ended_at"] is None


@pytest.mark.parametrize("method", METHODS)
def test_a_failure_ping_turns_the_heartbeat_down(
    http: httpx.Client, pinger: httpx.Client, method: str
) -> None:
    heartbeat = create_heartbeat(http)

    pinged(pinger.request(method, ping_path(heartbeat, "/fail")), method)

    after = read(http, heartbeat)
    assert after["status"] == "down"
    assert after["reason"].startswith("failure ping")
    assert after["last_ping_kind"] == "failure"
    # A failed run is still a run: the next one is expected as usual (then `missed`).
    assert after["deadline_at"] is not None
    (stored,) = pings(http, heartbeat)
    assert (stored["kind"], stored["method"]) == ("failure", method)
    (run,) = runs(http, heartbeat)
    assert run["outcome"] == "failure"


@pytest.mark.parametrize("method", METHODS)
def test_a_log_ping_is_stored_but_changes_nothing(
    http: httpx.Client, pinger: httpx.Client, method: str
) -> None:
    heartbeat = create_heartbeat(http)

    pinged(pinger.request(method, ping_path(heartbeat, "/log")), method)

    after = read(http, heartbeat)
    assert after["status"] == "pending"
    assert after["running"] is False
    assert after["last_ping_at"] is None
    assert after["deadline_at"] == heartbeat["deadline_at"]
    assert after["pings"] == 1
    (stored,) = pings(http, heartbeat)
    assert (stored["kind"], stored["method"]) == ("log", method)
    assert runs(http, heartbeat) == []


@pytest.mark.parametrize("method", METHODS)
def test_an_exit_code_ping_of_zero_is_a_success(
    http: httpx.Client, pinger: httpx.Client, method: str
) -> None:
    heartbeat = create_heartbeat(http)

    pinged(pinger.request(method, ping_path(heartbeat, "/0")), method)

    after = read(http, heartbeat)
    assert after["status"] == "up"
    assert (after["last_ping_kind"], after["last_exit_code"]) == ("success", 0)
    (stored,) = pings(http, heartbeat)
    assert (stored["kind"], stored["exit_code"], stored["method"]) == ("success", 0, method)


def test_a_log_ping_leaves_an_up_heartbeat_up_and_a_down_one_down(
    http: httpx.Client, pinger: httpx.Client
) -> None:
    up = create_heartbeat(http, name="Up")
    down = create_heartbeat(http, name="Down")
    pinged(pinger.get(ping_path(up)))
    pinged(pinger.get(ping_path(down, "/fail")))

    pinged(pinger.post(ping_path(up, "/log"), content="just saying"))
    pinged(pinger.post(ping_path(down, "/log"), content="still broken"))

    assert (read(http, up)["status"], read(http, up)["last_ping_kind"]) == ("up", "success")
    assert read(http, down)["status"] == "down"
    assert read(http, down)["reason"] == "failure ping"
    assert [p["kind"] for p in pings(http, up)] == ["log", "success"]


def moment(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


def test_a_ping_moves_the_deadline_to_the_next_expected_time_plus_grace_but_a_log_does_not(
    http: httpx.Client, pinger: httpx.Client
) -> None:
    heartbeat = create_heartbeat(http, period_seconds=600, grace_seconds=120)

    pinged(pinger.get(ping_path(heartbeat)))
    after_success = read(http, heartbeat)
    pinged(pinger.get(ping_path(heartbeat, "/log")))
    after_log = read(http, heartbeat)

    last = moment(after_success["last_ping_at"])
    assert moment(after_success["deadline_at"]) == last + timedelta(seconds=600 + 120)
    assert moment(after_success["next_expected_at"]) == last + timedelta(seconds=600)
    assert after_log["deadline_at"] == after_success["deadline_at"]
    assert after_log["last_ping_at"] == after_success["last_ping_at"]
    assert (after_log["pings"], after_success["pings"]) == (2, 1)


def test_a_paused_heartbeat_records_pings_and_runs_but_keeps_its_status(
    http: httpx.Client, pinger: httpx.Client
) -> None:
    heartbeat = create_heartbeat(http)
    ok(http.post(f"{HEARTBEATS}/{heartbeat['id']}/pause"))

    pinged(pinger.get(ping_path(heartbeat, "/start")))
    pinged(pinger.get(ping_path(heartbeat, "/fail")))
    pinged(pinger.get(ping_path(heartbeat)))

    after = read(http, heartbeat)
    assert after["status"] == "paused"
    assert after["deadline_at"] is None
    assert after["pings"] == 3
    assert [r["outcome"] for r in runs(http, heartbeat)] == ["success", "failure"]


def test_a_run_shorter_than_the_minimum_run_time_turns_the_heartbeat_down(
    http: httpx.Client, pinger: httpx.Client
) -> None:
    heartbeat = create_heartbeat(http, min_runtime_seconds=3600)

    pinged(pinger.get(ping_path(heartbeat, "/start")))
    pinged(pinger.get(ping_path(heartbeat)))

    after = read(http, heartbeat)
    assert after["status"] == "down"
    assert after["reason"].startswith("finished too quickly")
    (run,) = runs(http, heartbeat)
    assert run["outcome"] == "success"  # the job says it succeeded; the heartbeat doubts it


# --- exit codes -------------------------------------------------------------------------


@pytest.mark.parametrize("code", [1, 255])
def test_a_nonzero_exit_code_turns_the_heartbeat_down_with_the_code(
    http: httpx.Client, pinger: httpx.Client, code: int
) -> None:
    heartbeat = create_heartbeat(http)
    pinged(pinger.get(ping_path(heartbeat, "/start")))

    pinged(pinger.get(ping_path(heartbeat, f"/{code}")))

    after = read(http, heartbeat)
    assert after["status"] == "down"
    assert f"exit code {code}" in after["reason"]
    assert after["last_exit_code"] == code
    (run,) = runs(http, heartbeat)
    assert (run["outcome"], run["exit_code"]) == ("failure", code)
    assert run["started_at"] is not None
    assert run["ended_at"] is not None
    assert pings(http, heartbeat)[0]["exit_code"] == code


@pytest.mark.parametrize(
    ("method", "code"),
    [("GET", "256"), ("POST", "-1"), ("HEAD", "abc"), ("GET", "1.5"), ("POST", "00256")],
)
def test_an_exit_code_outside_0_to_255_is_refused_and_nothing_is_stored(
    api: ApiHarness, http: httpx.Client, pinger: httpx.Client, code: str, method: str
) -> None:
    heartbeat = create_heartbeat(http)

    response = pinger.request(method, ping_path(heartbeat, f"/{code}"))

    assert response.status_code == 400, response.text
    if method != "HEAD":
        answer = response.json()
        assert answer["code"] == "INVALID_EXIT_CODE"
        assert answer["fields"][0]["path"] == "exit_code"
    after = read(http, heartbeat)
    assert (after["status"], after["pings"], after["last_ping_at"]) == ("pending", 0, None)
    assert stored_pings(api) == 0
    assert runs(http, heartbeat) == []


# --- unknown and deleted ping URLs ------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "/start", "/fail", "/log", "/0"])
def test_an_unknown_uuid_is_not_found_whatever_the_signal(
    api: ApiHarness, pinger: httpx.Client, suffix: str
) -> None:
    not_found(pinger.get(f"/ping/{uuid.uuid4()}{suffix}"))

    assert stored_pings(api) == 0


def test_a_ping_path_that_is_neither_a_uuid_nor_a_key_and_slug_is_not_found(
    pinger: httpx.Client,
) -> None:
    not_found(pinger.get("/ping/not-a-uuid"))
    not_found(pinger.get(f"/ping/{uuid.uuid4()}/start/extra"))


def test_a_deleted_heartbeats_uuid_answers_exactly_like_an_unknown_one(
    api: ApiHarness, http: httpx.Client, pinger: httpx.Client
) -> None:
    heartbeat = create_heartbeat(http)
    pinged(pinger.get(ping_path(heartbeat)))
    ok(http.delete(f"{HEARTBEATS}/{heartbeat['id']}"), 204)

    deleted = pinger.get(ping_path(heartbeat))
    unknown = pinger.get(f"/ping/{uuid.uuid4()}")

    not_found(deleted)
    assert (deleted.status_code, deleted.content) == (unknown.status_code, unknown.content)
    assert deleted.headers["content-type"] == unknown.headers["content-type"]
    assert stored_pings(api) == 0  # the heartbeat's history went with it


def test_after_the_token_is_rotated_the_old_ping_url_is_not_found_and_the_new_one_works(
    http: httpx.Client, pinger: httpx.Client
) -> None:
    heartbeat = create_heartbeat(http)
    pinged(pinger.get(ping_path(heartbeat)))

    rotated = ok(http.post(f"{HEARTBEATS}/{heartbeat['id']}/rotate-token"))

    not_found(pinger.get(ping_path(heartbeat)))
    not_found(pinger.post(f"{HEARTBEATS}/{token_of(heartbeat)}"))
    pinged(pinger.get(ping_path(rotated, "/fail")))
    assert rotated["ping_token"] == token_of(rotated)
    after = read(http, heartbeat)
    assert (after["pings"], after["status"]) == (2, "down")
    assert after["ping_url"] == rotated["ping_url"]


# --- runs -------------------------------------------------------------------------------


def test_start_then_success_makes_one_successful_run_with_its_duration(
    http: httpx.Client, pinger: httpx.Client
) -> None:
    heartbeat = create_heartbeat(http)

    pinged(pinger.get(ping_path(heartbeat, "/start")))
    pinged(pinger.get(ping_path(heartbeat)))

    (run,) = runs(http, heartbeat)
    assert run["outcome"] == "success"
    assert run["started_at"] is not None
    assert run["ended_at"] is not None
    assert run["ended_at"] >= run["started_at"]
    assert run["duration_ms"] > 0
    after = read(http, heartbeat)
    assert (after["status"], after["running"]) == ("up", False)
    assert after["last_duration_ms"] == run["duration_ms"]
    success, start = pings(http, heartbeat)
    assert (success["kind"], start["kind"]) == ("success", "start")
    assert success["duration_ms"] == run["duration_ms"]
    assert start["duration_ms"] is None


def test_a_second_start_times_out_the_first_run_and_stays_running(
    http: httpx.Client, pinger: httpx.Client
) -> None:
    heartbeat = create_heartbeat(http)

    pinged(pinger.get(ping_path(heartbeat, "/start")))
    pinged(pinger.get(ping_path(heartbeat, "/start")))

    second, first = runs(http, heartbeat)  # newest first
    assert first["outcome"] == "timeout"
    assert second["outcome"] == "in_progress"
    assert second["started_at"] >= first["started_at"]
    after = read(http, heartbeat)
    assert after["running"] is True
    assert after["status"] == "pending"


def test_run_ids_keep_overlapping_runs_apart(http: httpx.Client, pinger: httpx.Client) -> None:
    heartbeat = create_heartbeat(http)
    a, b = str(uuid.uuid4()), str(uuid.uuid4())

    pinged(pinger.get(ping_path(heartbeat, "/start"), params={"rid": a}))
    pinged(pinger.get(ping_path(heartbeat, "/start"), params={"rid": b}))
    pinged(pinger.get(ping_path(heartbeat), params={"rid": a}))

    by_rid = {run["rid"]: run for run in runs(http, heartbeat)}
    assert set(by_rid) == {a, b}
    assert by_rid[a]["outcome"] == "success"
    assert by_rid[a]["ended_at"] is not None
    assert by_rid[a]["duration_ms"] > 0
    assert by_rid[b]["outcome"] == "in_progress"
    assert by_rid[b]["ended_at"] is None
    after = read(http, heartbeat)
    assert (after["status"], after["running"]) == ("up", True)
    assert [p["rid"] for p in pings(http, heartbeat)] == [a, b, a]


def test_a_run_id_that_is_not_plain_is_refused(
    api: ApiHarness, http: httpx.Client, pinger: httpx.Client
) -> None:
    heartbeat = create_heartbeat(http)

    spaced = pinger.get(ping_path(heartbeat, "/start"), params={"rid": "two words"})
    long = pinger.get(ping_path(heartbeat, "/start"), params={"rid": "x" * 65})

    for response in (spaced, long):
        assert response.status_code == 400, response.text
        assert response.json()["code"] == "VALIDATION_FAILED"
        assert response.json()["fields"][0]["path"] == "rid"
    assert stored_pings(api) == 0


def test_pings_the_fast_path_leaves_to_fastapi_get_fastapis_answers(
    api: ApiHarness, http: httpx.Client, pinger: httpx.Client
) -> None:
    """/ping/... is answered beside FastAPI (api/ping_path.py) when well-formed; the rest
    (a create that is not a boolean, a repeated rid, another method, too many parts) still
    gets FastAPI's own answers, and stores nothing."""
    heartbeat = create_heartbeat(http)

    not_boolean = pinger.get(ping_path(heartbeat), params={"create": "perhaps"})
    assert not_boolean.status_code == 400, not_boolean.text
    assert not_boolean.json()["fields"][0]["path"] == "create"
    repeated = pinger.get(ping_path(heartbeat, "/start?rid=a&rid=two words"))
    assert repeated.status_code == 400, repeated.text
    assert repeated.json()["fields"][0]["path"] == "rid"
    wrong_method = pinger.put(ping_path(heartbeat))
    assert wrong_method.status_code == 405, wrong_method.text
    assert wrong_method.json()["code"] == "METHOD_NOT_ALLOWED"
    assert set(wrong_method.headers["allow"].split(", ")) == {"GET", "POST", "HEAD"}
    not_found(pinger.get(ping_path(heartbeat, "/start/extra/more")))
    assert stored_pings(api) == 0

    assert pinger.get(ping_path(heartbeat), params={"create": "no", "rid": "r-1"}).text == "OK"
    assert stored_pings(api) == 1


# --- trailing slashes -------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("suffix", "kind"), [("/", "success"), ("/start/", "start"),
                                              ("/fail/", "failure"), ("/log/", "log"),
                                              ("/0/", "success")])  # fmt: skip
def test_a_ping_url_with_a_trailing_slash_is_recorded_like_the_url_without_it(
    http: httpx.Client, pinger: httpx.Client, method: str, suffix: str, kind: str
) -> None:
    """`curl -fsS $PING/` must not get a redirect it does not follow (a silent loss)."""
    heartbeat = create_heartbeat(http)

    pinged(pinger.request(method, ping_path(heartbeat, suffix)), method)

    (stored,) = pings(http, heartbeat)
    assert (stored["kind"], stored["method"]) == (kind, method)


def test_a_slug_url_with_a_trailing_slash_is_recorded_like_the_url_without_it(
    http: httpx.Client, pinger: httpx.Client
) -> None:
    heartbeat = create_heartbeat(http, name="DB backup", slug="db-backup")
    key = ping_key(http)

    pinged(pinger.get(f"/ping/{key}/db-backup/"))
    pinged(pinger.post(f"/ping/{key}/db-backup/start/"), "POST")
    pinged(pinger.get(f"/ping/{key}/new-job/", params={"create": "1"}))

    assert [p["kind"] for p in pings(http, heartbeat)] == ["start", "success"]
    (created,) = [h for h in listed(http) if h["slug"] == "new-job"]
    assert read(http, created)["pings"] == 1


def test_a_ping_url_with_a_trailing_slash_never_answers_a_redirect(
    api: ApiHarness, http: httpx.Client, pinger: httpx.Client
) -> None:
    """What the fast path leaves to FastAPI (a bad `create`, an unknown uuid, a doubled
    slash) is answered there, never with a 307 a client may not follow."""
    heartbeat = create_heartbeat(http)

    not_boolean = pinger.get(ping_path(heartbeat, "/"), params={"create": "perhaps"})
    assert not_boolean.status_code == 400, not_boolean.text
    assert not_boolean.json()["fields"][0]["path"] == "create"
    not_found(pinger.get(f"/ping/{uuid.uuid4()}/"))
    not_found(pinger.post(ping_path(heartbeat, "//")))
    assert stored_pings(api) == 0


@pytest.mark.parametrize(("method", "path"), [("POST", "/api/v1/monitors/"),
                                              ("GET", "/api/v1/monitors/"),
                                              ("POST", "/api/v1/heartbeats/")])  # fmt: skip
def test_an_api_path_with_a_stray_trailing_slash_is_not_found_not_redirected(
    api: ApiHarness, tenant: Tenant, method: str, path: str
) -> None:
    """A 307 to the slashless URL is followed by some clients as a GET (a create silently
    turned into a list) and not at all by others: an unknown path is a plain 404."""
    with api.client(tenant.owner.token) as client:
        response = client.request(method, path, json={"name": "x"})

    not_found(response)


# --- bodies -----------------------------------------------------------------------------


def test_a_posted_body_is_stored_with_the_ping_and_explains_the_failure(
    http: httpx.Client, pinger: httpx.Client
) -> None:
    heartbeat = create_heartbeat(http)
    output = "backup failed: disk full"

    response = pinger.post(
        ping_path(heartbeat, "/fail"),
        content=output.encode(),
        headers={"User-Agent": "backup.sh/2.1 (cron)"},
    )

    pinged(response, "POST")
    (stored,) = pings(http, heartbeat, include_body=True)
    assert stored["body"] == output
    assert stored["body_size"] == len(output)
    assert stored["body_truncated"] is False
    assert stored["kind"] == "failure"
    assert stored["method"] == "POST"
    assert stored["user_agent"] == "backup.sh/2.1 (cron)"
    assert stored["source_ip"] == "127.0.0.1"
    after = read(http, heartbeat)
    assert after["status"] == "down"
    assert output in after["reason"]
    assert after["reason"].startswith("failure ping")


def test_a_nonzero_exit_code_with_output_gives_both_in_the_reason(
    http: httpx.Client, pinger: httpx.Client
) -> None:
    heartbeat = create_heartbeat(http)

    pinged(pinger.post(ping_path(heartbeat, "/3"), content=b"pg_dump: connection refused\n"))

    assert read(http, heartbeat)["reason"] == "exit code 3: pg_dump: connection refused"


def test_without_include_body_the_body_is_left_out_but_its_size_is_given(
    http: httpx.Client, pinger: httpx.Client
) -> None:
    heartbeat = create_heartbeat(http)
    pinged(pinger.post(ping_path(heartbeat, "/log"), content=b"12 files copied"))
    pinged(pinger.get(ping_path(heartbeat)))

    bodiless, logged = pings(http, heartbeat)

    assert logged["body"] is None
    assert logged["body_size"] == len("12 files copied")
    assert bodiless["body"] is None
    assert bodiless["body_size"] is None
    assert [p["body"] for p in pings(http, heartbeat, include_body=True)] == [
        None,
        "12 files copied",
    ]


@with_settings(ping_body_max_bytes=10)
def test_a_body_over_the_limit_is_cut_to_its_first_bytes_and_marked_truncated(
    http: httpx.Client, pinger: httpx.Client
) -> None:
    heartbeat = create_heartbeat(http)
    body = b"abcdefghijklmnopqrstuvwxy"
    assert len(body) == 25

    pinged(pinger.post(ping_path(heartbeat, "/log"), content=body), "POST")
    pinged(pinger.post(ping_path(heartbeat, "/log"), content=b"0123456789"), "POST")

    exact, cut = pings(http, heartbeat, include_body=True)
    assert cut["body"] == "abcdefghij"
    assert cut["body_size"] == 10
    assert cut["body_truncated"] is True
    assert exact["body"] == "0123456789"
    assert exact["body_truncated"] is False


def test_a_body_that_is_not_utf8_or_holds_nul_is_stored_without_error(
    api: ApiHarness, http: httpx.Client, pinger: httpx.Client
) -> None:
    heartbeat = create_heartbeat(http)

    undecodable = pinger.post(ping_path(heartbeat, "/log"), content=b"ok \xff\xfe\xc3( end")
    with_nul = pinger.post(ping_path(heartbeat, "/fail"), content=b"before\x00after")

    pinged(undecodable, "POST")
    pinged(with_nul, "POST")
    nul, garbled = pings(http, heartbeat, include_body=True)
    assert garbled["body"].startswith("ok ")
    assert garbled["body"].endswith(" end")
    assert "\ufffd" in garbled["body"]
    assert nul["body"].startswith("before")
    assert nul["body"].endswith("after")
    assert "\x00" not in nul["body"]
    assert stored_pings(api) == 2
    after = read(http, heartbeat)
    assert after["status"] == "down"
    assert "\x00" not in after["reason"]


# --- slug URLs --------------------------------------------------------------------------


def ping_key(http: httpx.Client) -> str:
    return ok(http.get(f"{HEARTBEATS}/ping-key"))["ping_key"]  # type: ignore[no-any-return]


def listed(http: httpx.Client) -> list[dict[str, Any]]:
    return ok(http.get(HEARTBEATS))["data"]  # type: ignore[no-any-return]


def test_a_slug_url_pings_the_heartbeat_with_that_slug(
    http: httpx.Client, pinger: httpx.Client
) -> None:
    heartbeat = create_heartbeat(http, name="DB backup", slug="db-backup")
    other = create_heartbeat(http, name="Other", slug="other")
    key = ping_key(http)
    assert key == ping_key(http)  # reading the key does not change it

    pinged(pinger.get(f"/ping/{key}/db-backup/start"))
    assert read(http, heartbeat)["running"] is True
    pinged(pinger.head(f"/ping/{key}/db-backup"), "HEAD")
    assert read(http, heartbeat)["status"] == "up"
    pinged(pinger.post(f"/ping/{key}/db-backup/1", content=b"oops"), "POST")

    after = read(http, heartbeat)
    assert after["status"] == "down"
    assert after["reason"] == "exit code 1: oops"
    assert [p["kind"] for p in pings(http, heartbeat)] == ["failure", "success", "start"]
    assert [r["outcome"] for r in runs(http, heartbeat)] == ["failure", "success"]
    assert read(http, other)["pings"] == 0


def test_a_slug_url_takes_fail_and_log_too(http: httpx.Client, pinger: httpx.Client) -> None:
    heartbeat = create_heartbeat(http, name="DB backup", slug="db-backup")
    key = ping_key(http)

    pinged(pinger.get(f"/ping/{key}/db-backup/log"))
    assert read(http, heartbeat)["status"] == "pending"
    pinged(pinger.get(f"/ping/{key}/db-backup/fail"))

    assert read(http, heartbeat)["status"] == "down"
    assert [p["kind"] for p in pings(http, heartbeat)] == ["failure", "log"]


def test_an_unknown_slug_is_not_found_and_creates_nothing(
    api: ApiHarness, http: httpx.Client, pinger: httpx.Client
) -> None:
    create_heartbeat(http, name="DB backup", slug="db-backup")
    key = ping_key(http)

    not_found(pinger.get(f"/ping/{key}/no-such-job"))
    not_found(pinger.get(f"/ping/{key}/no-such-job/start"))

    assert [hb["slug"] for hb in listed(http)] == ["db-backup"]
    assert stored_pings(api) == 0


def test_create_on_an_unknown_slug_creates_the_heartbeat_and_records_the_ping(
    http: httpx.Client, pinger: httpx.Client
) -> None:
    key = ping_key(http)

    pinged(pinger.get(f"/ping/{key}/nightly-report", params={"create": "1"}))

    (created,) = listed(http)
    assert (created["name"], created["slug"]) == ("nightly-report", "nightly-report")
    assert (created["period_seconds"], created["grace_seconds"]) == (86400, 3600)
    assert created["status"] == "up"
    detail = read(http, created)
    assert detail["pings"] == 1
    assert [p["kind"] for p in pings(http, created)] == ["success"]
    # The next ping, with or without create, goes to the same heartbeat.
    pinged(pinger.get(f"/ping/{key}/nightly-report/start", params={"create": "1"}))
    pinged(pinger.get(f"/ping/{key}/nightly-report"))
    assert len(listed(http)) == 1
    assert read(http, created)["pings"] == 3


def test_create_with_a_slug_that_is_not_valid_is_not_found_and_creates_nothing(
    api: ApiHarness, http: httpx.Client, pinger: httpx.Client
) -> None:
    key = ping_key(http)

    not_found(pinger.get(f"/ping/{key}/Nightly-Report", params={"create": "1"}))
    not_found(pinger.get(f"/ping/{key}/-report", params={"create": "1"}))

    assert listed(http) == []
    assert stored_pings(api) == 0


def test_concurrent_create_pings_for_one_new_slug_make_one_heartbeat_with_every_ping(
    api: ApiHarness, http: httpx.Client
) -> None:
    key = ping_key(http)
    path = f"/ping/{key}/fleet-job"

    def ping(_: int) -> int:
        with api.client() as pinger:
            return pinger.get(path, params={"create": "1"}).status_code

    with ThreadPoolExecutor(10) as pool:
        statuses = list(pool.map(ping, range(10)))

    assert statuses == [200] * 10
    (created,) = listed(http)
    assert created["slug"] == "fleet-job"
    assert read(http, created)["pings"] == 10


@with_settings(quota_max_heartbeats=1)
def test_create_respects_the_heartbeat_quota(
    api: ApiHarness, http: httpx.Client, pinger: httpx.Client
) -> None:
    create_heartbeat(http, name="DB backup", slug="db-backup")
    key = ping_key(http)

    refused = pinger.get(f"/ping/{key}/one-too-many", params={"create": "1"})

    assert refused.status_code == 429, refused.text
    assert refused.json()["code"] == "QUOTA_EXCEEDED"
    assert [hb["slug"] for hb in listed(http)] == ["db-backup"]
    assert stored_pings(api) == 0


def test_after_the_ping_key_is_rotated_only_the_new_key_reaches_the_slug(
    http: httpx.Client, pinger: httpx.Client
) -> None:
    heartbeat = create_heartbeat(http, name="DB backup", slug="db-backup")
    old = ping_key(http)

    new = ok(http.post(f"{HEARTBEATS}/ping-key/rotate"))["ping_key"]

    assert new != old
    not_found(pinger.get(f"/ping/{old}/db-backup"))
    pinged(pinger.get(f"/ping/{new}/db-backup"))
    assert read(http, heartbeat)["pings"] == 1


def test_create_with_a_wrong_key_is_not_found_and_creates_nothing(
    api: ApiHarness, http: httpx.Client, pinger: httpx.Client
) -> None:
    key = ping_key(http)
    wrong = key[:-4] + ("aaaa" if not key.endswith("aaaa") else "bbbb")

    not_found(pinger.get(f"/ping/{wrong}/nightly-report", params={"create": "1"}))
    not_found(pinger.get("/ping/not-a-key/nightly-report/start", params={"create": "1"}))

    assert listed(http) == []
    assert stored_pings(api) == 0


def test_the_ping_key_of_one_organization_never_reaches_another_organizations_slug(
    api: ApiHarness, http: httpx.Client, pinger: httpx.Client
) -> None:
    ours = create_heartbeat(http, name="DB backup", slug="db-backup")
    stranger = api.seed.tenant()
    with api.client(stranger.owner.token) as their_http:
        theirs = create_heartbeat(their_http, name="Their backup", slug="their-backup")
        their_key = ping_key(their_http)

        not_found(pinger.get(f"/ping/{their_key}/db-backup"))
        pinged(pinger.get(f"/ping/{their_key}/their-backup"))

        assert read(their_http, theirs)["pings"] == 1
    assert read(http, ours)["pings"] == 0


# --- the token form: POST|HEAD /api/v1/heartbeats/{uuid} --------------------------------


@pytest.mark.parametrize("method", ["POST", "HEAD"])
def test_the_token_form_without_credentials_is_a_success_ping_answered_204(
    http: httpx.Client, pinger: httpx.Client, method: str
) -> None:
    heartbeat = create_heartbeat(http)

    response = pinger.request(method, f"{HEARTBEATS}/{token_of(heartbeat)}")

    assert response.status_code == 204, response.text
    assert response.content == b""
    after = read(http, heartbeat)
    assert after["status"] == "up"
    assert after["pings"] == 1
    (stored,) = pings(http, heartbeat)
    assert (stored["kind"], stored["method"]) == ("success", method)


@pytest.mark.parametrize("method", ["POST", "HEAD"])
def test_the_token_form_with_an_unknown_uuid_is_not_found(
    api: ApiHarness, pinger: httpx.Client, method: str
) -> None:
    response = pinger.request(method, f"{HEARTBEATS}/{uuid.uuid4()}")

    assert response.status_code == 404, response.text
    if method == "POST":
        assert response.json()["code"] == "NOT_FOUND"
    assert stored_pings(api) == 0


def test_get_on_the_token_form_is_the_authenticated_detail_route_not_a_ping(
    api: ApiHarness, http: httpx.Client, pinger: httpx.Client
) -> None:
    heartbeat = create_heartbeat(http)

    response = pinger.get(f"{HEARTBEATS}/{token_of(heartbeat)}")

    assert response.status_code == 401, response.text
    assert response.json()["code"] == "UNAUTHENTICATED"
    assert read(http, heartbeat)["pings"] == 0
    assert stored_pings(api) == 0


def test_the_heartbeat_id_is_not_its_ping_token(
    api: ApiHarness, http: httpx.Client, pinger: httpx.Client
) -> None:
    heartbeat = create_heartbeat(http)
    assert heartbeat["id"] != token_of(heartbeat)

    not_found(pinger.get(f"/ping/{heartbeat['id']}"))
    not_found(pinger.post(f"{HEARTBEATS}/{heartbeat['id']}"))

    assert stored_pings(api) == 0


# --- the per-IP rate limit --------------------------------------------------------------


def in_one_window(run: Callable[[], list[httpx.Response]]) -> list[httpx.Response]:
    """Run `run` (which must use fresh counters each time) until its requests all fell in one
    rate-limit window: a window that ends mid-run shows as X-RateLimit-Reset jumping up."""
    for _ in range(2):
        responses = run()
        resets = [int(r.headers["X-RateLimit-Reset"]) for r in responses]
        if all(later <= earlier + 1 for earlier, later in itertools.pairwise(resets)):
            return responses
    pytest.fail("the rate-limit window rolled over during two runs in a row")


def test_the_sixth_ping_in_a_minute_from_one_ip_is_refused_unknown_uuids_included(
    serve: Serve,
) -> None:
    details: list[dict[str, Any]] = []

    def run() -> list[httpx.Response]:
        api = serve(ping_rate_limit_per_minute=5)  # a new instance: fresh per-IP counters
        tenant = api.seed.tenant()
        with api.client(tenant.owner.token) as http, api.client() as pinger:
            heartbeat = create_heartbeat(http)
            unknown = [pinger.get(f"/ping/{uuid.uuid4()}") for _ in range(3)]
            known = [pinger.get(ping_path(heartbeat)) for _ in range(2)]
            responses = [*unknown, *known, pinger.get(ping_path(heartbeat, "/start"))]
            details.append(read(http, heartbeat))
        return responses

    responses = in_one_window(run)

    assert [r.status_code for r in responses] == [404, 404, 404, 200, 200, 429]
    assert [r.headers["X-RateLimit-Remaining"] for r in responses] == list("432100")
    refused = responses[5]
    assert refused.json()["code"] == "RATE_LIMITED"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    after = details[-1]  # the refused start was not stored
    assert (after["pings"], after["running"], after["last_ping_kind"]) == (2, False, "success")


# --- many pings at once -----------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """One run id's pings, sent one after another by one client."""

    rid: str
    signals: tuple[str, ...]  # "" is success; start, fail, log


def concurrent_jobs() -> list[Job]:
    jobs = [
        *(Job(f"ok-{i}", ("start", "")) for i in range(50)),
        *(Job(f"failed-{i}", ("start", "fail")) for i in range(30)),
        *(Job(f"open-{i}", ("start",)) for i in range(10)),
        *(Job(f"log-{i}", ("log",)) for i in range(30)),
    ]
    random.Random(7).shuffle(jobs)
    return jobs


def test_two_hundred_concurrent_pings_are_all_stored_and_pair_into_runs(
    api: ApiHarness, http: httpx.Client
) -> None:
    heartbeat = create_heartbeat(http)
    jobs = concurrent_jobs()
    sent = Counter(signal for job in jobs for signal in job.signals)
    assert sum(sent.values()) == 200
    threads = 20

    def work(share: list[Job]) -> list[int]:
        statuses = []
        with api.client() as pinger:
            for job in share:
                for signal in job.signals:
                    suffix = f"/{signal}" if signal else ""
                    response = pinger.post(
                        ping_path(heartbeat, suffix), params={"rid": job.rid}, content=job.rid
                    )
                    statuses.append(response.status_code)
        return statuses

    with ThreadPoolExecutor(threads) as pool:
        answered = [
            status
            for statuses in pool.map(work, [jobs[i::threads] for i in range(threads)])
            for status in statuses
        ]

    assert answered == [200] * 200
    assert stored_pings(api) == 200
    after = read(http, heartbeat)
    assert after["pings"] == 200
    assert after["running"] is True  # the ten started runs that never ended
    kinds = counts(api, "select kind, count(*) from heartbeat_pings group by kind")
    assert kinds == {"start": sent["start"], "success": sent[""], "failure": 30, "log": 30}
    outcomes = counts(api, "select outcome, count(*) from heartbeat_runs group by outcome")
    assert outcomes == {"success": 50, "failure": 30, "in_progress": 10}
    # Every run is one rid's start and end paired: one run per rid that started, none
    # without a start, and its rid tells what it should have ended as.
    runs_by_rid = api.seed.rows(
        "select rid, outcome, started_at is not null, ended_at is not null from heartbeat_runs"
    )
    assert len({row[0] for row in runs_by_rid}) == len(runs_by_rid) == 90
    expected = {
        "ok": ("success", True),
        "failed": ("failure", True),
        "open": ("in_progress", False),
    }
    for rid, outcome, started, ended in runs_by_rid:
        assert started, rid
        assert (outcome, bool(ended)) == expected[str(rid).split("-")[0]], rid
    unpaired = api.seed.scalar(
        "select count(*) from heartbeat_pings where kind in ('success', 'failure') "
        "and duration_ms is null"
    )
    assert unpaired == 0


# --- the ping token never reaches the logs ----------------------------------------------


CLIENT_LOGGERS = ("httpx", "httpcore")  # the test's own client, not the server


def test_the_ping_token_and_key_never_appear_in_the_server_logs(
    http: httpx.Client,
    pinger: httpx.Client,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    heartbeat = create_heartbeat(http, name="DB backup", slug="db-backup")
    token, key = token_of(heartbeat), ping_key(http)
    # As in production (`configure_logging`, `access_log=False`): uvicorn's own access log
    # is off and Upwatch logs each request itself. pytest's capture handlers would turn
    # it back on in this test server.
    monkeypatch.setattr(logging.getLogger("uvicorn.access"), "disabled", True)
    caplog.set_level(logging.DEBUG)

    statuses = [
        pinger.get(ping_path(heartbeat)).status_code,
        pinger.head(ping_path(heartbeat, "/start")).status_code,
        pinger.post(ping_path(heartbeat, "/fail"), content=b"boom").status_code,
        pinger.get(ping_path(heartbeat, "/log")).status_code,
        pinger.get(ping_path(heartbeat, "/7")).status_code,
        pinger.get(ping_path(heartbeat, "/999")).status_code,
        pinger.get(ping_path(heartbeat, "/start/extra")).status_code,
        pinger.get(ping_path(heartbeat), params={"rid": "not plain!"}).status_code,
        pinger.post(f"{HEARTBEATS}/{token}").status_code,
        pinger.head(f"{HEARTBEATS}/{token}").status_code,
        pinger.get(f"/ping/{key}/db-backup").status_code,
        pinger.get(f"/ping/{key}/db-backup/start").status_code,
        pinger.get(f"/ping/{key}/unknown-job").status_code,
        pinger.get(f"/ping/{key}/new-job", params={"create": "1"}).status_code,
    ]

    assert statuses == [200, 200, 200, 200, 200, 400, 404, 400, 204, 204, 200, 200, 404, 200]
    server = [r for r in caplog.records if r.name.split(".")[0] not in CLIENT_LOGGERS]
    requests = [r for r in server if r.name == "upwatch.http" and "request" in r.getMessage()]
    assert len(requests) >= len(statuses)  # the server's request log was captured
    leaks = [
        f"{record.name}: {record.getMessage()[:300]}"
        for record in server
        if any(
            secret in text
            for secret in (token, key)
            for text in (str(record.msg), record.getMessage(), repr(record.args))
        )
    ]
    assert leaks == []


# --- live events ------------------------------------------------------------------------


@pytest.mark.real_server  # reads the event stream while the app keeps running
def test_a_ping_streams_heartbeat_pinged_and_a_status_change_streams_status_changed(
    api: ApiHarness, tenant: Tenant, http: httpx.Client, pinger: httpx.Client
) -> None:
    heartbeat = create_heartbeat(http)
    rid = str(uuid.uuid4())

    with event_stream(api.base_url, tenant.owner.token, ["heartbeat.*"]) as stream:
        pinged(pinger.get(ping_path(heartbeat, "/log")))  # no status change
        logged = stream.next()
        pinged(pinger.get(ping_path(heartbeat, "/0"), params={"rid": rid}))
        pair = [stream.next(), stream.next()]

    assert logged.type == "heartbeat.pinged"
    assert logged.sse_event == logged.type
    assert logged.data["heartbeat_id"] == heartbeat["id"]
    assert logged.data["name"] == heartbeat["name"]
    assert (logged.data["kind"], logged.data["status"]) == ("log", "pending")

    by_type = {event.type: event for event in pair}
    assert set(by_type) == {"heartbeat.pinged", "heartbeat.status_changed"}
    success = by_type["heartbeat.pinged"].data
    assert success["heartbeat_id"] == heartbeat["id"]
    assert (success["kind"], success["exit_code"], success["rid"]) == ("success", 0, rid)
    assert success["status"] == "up"
    changed = by_type["heartbeat.status_changed"].data
    assert changed["heartbeat_id"] == heartbeat["id"]
    assert (changed["from"], changed["to"]) == ("pending", "up")
    assert changed["reason"] == "success ping"


@pytest.mark.real_server  # reads the event stream while the app keeps running
def test_a_failure_ping_streams_the_change_to_down_with_its_reason(
    api: ApiHarness, tenant: Tenant, http: httpx.Client, pinger: httpx.Client
) -> None:
    heartbeat = create_heartbeat(http)
    pinged(pinger.get(ping_path(heartbeat)))

    with event_stream(api.base_url, tenant.owner.token, ["heartbeat.status_changed"]) as stream:
        pinged(pinger.post(ping_path(heartbeat, "/2"), content=b"no space left"), "POST")
        changed = stream.next()

    assert changed.type == "heartbeat.status_changed"
    assert changed.data["heartbeat_id"] == heartbeat["id"]
    assert (changed.data["from"], changed.data["to"]) == ("up", "down")
    assert changed.data["reason"] == "exit code 2: no space left"
