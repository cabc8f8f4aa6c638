"""Websites and bulk monitor operations over real HTTP on each backend.

Websites: a domain groups the monitors whose target is on it; proving ownership (a file
under `/.well-known/`, fetched from a real local server) unlocks `concurrency` above 1.
Bulk: `POST|PATCH|DELETE /api/v1/monitors/bulk`, at most 100 items, all or nothing, one
result per item.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from aiohttp import web
from sqlalchemy import update

from tests.conftest import ApiHarness
from tests.support.accounts import Tenant
from upwatch.db.engine import Database
from upwatch.db.unit_of_work import unit_of_work
from upwatch.models import Website
from upwatch.net.ownership import MAX_FILE_BYTES, fetch_text

MONITORS = "/api/v1/monitors"
BULK = "/api/v1/monitors/bulk"
WEBSITES = "/api/v1/websites"
WELL_KNOWN = "/.well-known/upwatch-verification.txt"
START_SECONDS = 10.0


# --- a real server that serves the verification file ----------------------------------


class Site:
    """What the local server answers: `file` at the well-known path (404 while None), and
    200 everywhere else; `received` counts requests per path."""

    def __init__(self) -> None:
        self.file: str | None = None
        self.received: list[str] = []
        self.port = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def _site_app(site: Site) -> web.Application:
    async def answer(request: web.Request) -> web.Response:
        site.received.append(request.path)
        if request.path == WELL_KNOWN:
            if site.file is None:
                return web.Response(status=404)
            return web.Response(text=site.file)
        return web.Response(text="hello upwatch")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    return app


@asynccontextmanager
async def running_site(port: int = 0) -> AsyncIterator[Site]:
    site = Site()
    runner = web.AppRunner(_site_app(site), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", port).start()
        site.port = int(runner.addresses[0][1])
        yield site
    finally:
        await runner.cleanup()


@contextmanager
def serving_site(port: int = 0) -> Iterator[Site]:
    """`running_site` in a thread of its own, for tests that are not async."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="site", daemon=True)
    thread.start()
    manager = running_site(port)

    def call(coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(START_SECONDS)

    try:
        running = call(manager.__aenter__())
        try:
            yield running
        finally:
            call(manager.__aexit__(None, None, None))
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(START_SECONDS)
        loop.close()


@pytest.fixture
def site() -> Iterator[Site]:
    with serving_site() as running:
        yield running


@pytest.fixture
def site_on_port_80() -> Iterator[Site]:
    """The verification file URL has no port (`http://<domain>/.well-known/...`), so the
    end-to-end check needs a server on 127.0.0.1:80."""
    with ExitStack() as stack:
        try:
            running = stack.enter_context(serving_site(80))
        except OSError as exc:
            pytest.skip(f"cannot listen on 127.0.0.1:80 for the file verification ({exc})")
        yield running


# --- the API ---------------------------------------------------------------------------


@pytest.fixture
def tenant(api: ApiHarness) -> Tenant:
    return api.seed.tenant()


@pytest.fixture
def http(api: ApiHarness, tenant: Tenant) -> Iterator[httpx.Client]:
    with api.client(tenant.owner.token) as client:
        yield client


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def field_errors(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 400, response.text
    answer = response.json()
    assert answer["code"] == "VALIDATION_FAILED"
    return {item["path"]: item["code"] for item in answer["fields"]}


def monitor_body(target: str = "http://127.0.0.1:9/", **fields: Any) -> dict[str, Any]:
    """An on-demand HTTP monitor (never checked unless a test runs it)."""
    return {
        "name": "Monitor",
        "kind": "http",
        "target": target,
        "execution_mode": "on_demand",
        "interval_seconds": 60,
        "timeout_ms": 2000,
        **fields,
    }


def create_monitor(http: httpx.Client, target: str = "http://127.0.0.1:9/", **fields: Any) -> Any:
    return ok(http.post(MONITORS, json=monitor_body(target, **fields)), 201)


def create_website(http: httpx.Client, domain: str) -> Any:
    return ok(http.post(WEBSITES, json={"domain": domain}), 201)


def count_monitors(http: httpx.Client) -> int:
    return int(ok(http.get(MONITORS, params={"limit": 100}))["pagination"]["total"])


def mark_verified(api: ApiHarness, website_id: str) -> None:
    """Record a website as verified, as a successful verification would."""

    async def work() -> None:
        database = Database(api.settings.effective_database_url)
        try:
            async with unit_of_work(database) as session:
                await session.execute(
                    update(Website)
                    .where(Website.public_id == uuid.UUID(website_id))
                    .values(verified_at=datetime.now(UTC), verification_method="file")
                )
        finally:
            await database.dispose()

    asyncio.run(work())


# --- websites --------------------------------------------------------------------------


def test_a_new_website_says_how_to_verify_it(http: httpx.Client) -> None:
    response = http.post(WEBSITES, json={"domain": " Example.COM. "})

    website = ok(response, 201)
    assert uuid.UUID(website["id"]).version == 7
    assert website["domain"] == "example.com"
    assert (website["is_verified"], website["verified_at"], website["verification_method"]) == (
        False,
        None,
        None,
    )
    assert website["monitors"] == 0
    assert website["created_at"].endswith("Z")
    proof = website["verification"]
    assert set(proof) == {"dns_txt_name", "dns_txt_value", "file_url", "file_content"}
    assert proof["dns_txt_name"] == "_upwatch-challenge.example.com"
    assert proof["file_url"] == f"http://example.com{WELL_KNOWN}"
    assert len(proof["file_content"]) >= 20
    assert proof["dns_txt_value"] == f"upwatch-verification={proof['file_content']}"
    assert ok(http.get(f"{WEBSITES}/{website['id']}")) == website


def test_each_website_has_its_own_verification_secret(http: httpx.Client) -> None:
    first = create_website(http, "one.example.com")
    second = create_website(http, "two.example.com")

    assert first["verification"]["file_content"] != second["verification"]["file_content"]


def test_a_website_added_twice_is_a_conflict(http: httpx.Client) -> None:
    create_website(http, "example.com")

    for again in ("example.com", "EXAMPLE.com", "example.com."):
        response = http.post(WEBSITES, json={"domain": again})
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "CONFLICT"


@pytest.mark.parametrize(
    "domain",
    ["", "not a domain", "http://example.com/", "example.com/path", "-example.com", "a..b"],
)
def test_an_invalid_domain_is_refused_naming_the_field(http: httpx.Client, domain: str) -> None:
    response = http.post(WEBSITES, json={"domain": domain})

    assert set(field_errors(response)) == {"domain"}
    assert ok(http.get(WEBSITES))["data"] == []


def test_a_website_without_a_domain_or_with_unknown_fields_is_refused(http: httpx.Client) -> None:
    assert set(field_errors(http.post(WEBSITES, json={}))) == {"domain"}
    unknown = http.post(WEBSITES, json={"domain": "example.com", "owner": "me"})
    assert set(field_errors(unknown)) == {"owner"}


def test_the_websites_list_follows_the_collection_convention(http: httpx.Client) -> None:
    create_website(http, "b.example.com")
    create_website(http, "a.example.com")

    answer = ok(http.get(WEBSITES))

    # Oldest first (keyset pages on the creation order).
    assert [item["domain"] for item in answer["data"]] == ["b.example.com", "a.example.com"]
    assert answer["pagination"]["next_cursor"] is None
    first = ok(http.get(WEBSITES, params={"limit": 1}))
    rest = ok(http.get(WEBSITES, params={"limit": 1, "cursor": first["pagination"]["next_cursor"]}))
    assert [first["data"][0]["domain"], rest["data"][0]["domain"]] == [
        "b.example.com",
        "a.example.com",
    ]


def test_monitors_on_the_websites_domain_are_linked_to_it_before_and_after(
    http: httpx.Client,
) -> None:
    before = create_monitor(http, "https://example.com/health")
    elsewhere = create_monitor(http, "https://www.example.com/")
    tcp = create_monitor(http, "example.com:443", kind="tcp")

    website = create_website(http, "example.com")
    after = create_monitor(http, "http://EXAMPLE.com:8080/api")

    assert website["monitors"] == 2
    assert ok(http.get(f"{WEBSITES}/{website['id']}"))["monitors"] == 3
    for linked in (before, tcp, after):
        assert ok(http.get(f"{MONITORS}/{linked['id']}"))["website_id"] == website["id"]
    assert after["website_id"] == website["id"]
    assert ok(http.get(f"{MONITORS}/{elsewhere['id']}"))["website_id"] is None


def test_a_monitor_moved_to_another_host_leaves_the_website(http: httpx.Client) -> None:
    website = create_website(http, "example.com")
    monitor = create_monitor(http, "https://example.com/")

    moved = ok(http.patch(f"{MONITORS}/{monitor['id']}", json={"target": "https://example.org/"}))

    assert moved["website_id"] is None
    assert ok(http.get(f"{WEBSITES}/{website['id']}"))["monitors"] == 0


def test_a_removed_website_leaves_its_monitors_in_place(http: httpx.Client) -> None:
    website = create_website(http, "example.com")
    monitor = create_monitor(http, "https://example.com/")

    response = http.delete(f"{WEBSITES}/{website['id']}")

    assert response.status_code == 204, response.text
    assert http.get(f"{WEBSITES}/{website['id']}").status_code == 404
    assert ok(http.get(f"{MONITORS}/{monitor['id']}"))["website_id"] is None


def test_another_organizations_website_is_not_found(api: ApiHarness, http: httpx.Client) -> None:
    stranger = api.seed.tenant()
    with api.client(stranger.owner.token) as their_http:
        theirs = create_website(their_http, "example.com")
        their_monitor = create_monitor(their_http, "https://example.com/")
    ours = create_website(http, "example.com")  # the same domain is theirs and ours
    our_monitor = create_monitor(http, "https://example.com/")

    for response in (
        http.get(f"{WEBSITES}/{theirs['id']}"),
        http.post(f"{WEBSITES}/{theirs['id']}/verify", json={"method": "file"}),
        http.delete(f"{WEBSITES}/{theirs['id']}"),
    ):
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "NOT_FOUND"
    assert [item["id"] for item in ok(http.get(WEBSITES))["data"]] == [ours["id"]]
    assert ok(http.get(f"{WEBSITES}/{ours['id']}"))["monitors"] == 1
    assert our_monitor["website_id"] == ours["id"]
    with api.client(stranger.owner.token) as their_http:
        assert ok(their_http.get(f"{MONITORS}/{their_monitor['id']}"))["website_id"] == theirs["id"]
        assert ok(their_http.get(f"{WEBSITES}/{theirs['id']}"))["monitors"] == 1


def test_an_unknown_verification_method_is_refused_naming_the_field(http: httpx.Client) -> None:
    website = create_website(http, "example.com")

    response = http.post(f"{WEBSITES}/{website['id']}/verify", json={"method": "email"})

    assert set(field_errors(response)) == {"method"}


# --- file verification -----------------------------------------------------------------


async def test_the_ownership_file_is_fetched_from_a_real_server() -> None:
    async with running_site() as site:
        site.file = "the-token\n"

        assert await fetch_text(site.url(WELL_KNOWN), host="127.0.0.1", public_only=False) == (
            "the-token\n"
        )


async def test_a_missing_ownership_file_is_none() -> None:
    async with running_site() as site:
        assert await fetch_text(site.url(WELL_KNOWN), host="127.0.0.1", public_only=False) is None


async def test_a_loopback_ownership_file_is_refused_when_only_public_addresses_are_allowed() -> (
    None
):
    async with running_site() as site:
        site.file = "the-token"

        by_name = f"http://localhost:{site.port}{WELL_KNOWN}"

        assert await fetch_text(site.url(WELL_KNOWN), host="127.0.0.1", public_only=True) is None
        assert await fetch_text(by_name, host="localhost", public_only=True) is None
    assert site.received == []


async def test_only_the_start_of_a_huge_ownership_file_is_read() -> None:
    async with running_site() as site:
        site.file = "x" * (MAX_FILE_BYTES * 10)

        text = await fetch_text(site.url(WELL_KNOWN), host="127.0.0.1", public_only=False)

    assert text == "x" * MAX_FILE_BYTES


async def test_nothing_listening_is_none() -> None:
    async with running_site() as site:
        port = site.port
    assert (
        await fetch_text(
            f"http://127.0.0.1:{port}{WELL_KNOWN}", host="127.0.0.1", public_only=False
        )
        is None
    )


def test_a_website_is_verified_by_the_file_it_serves(
    http: httpx.Client, site_on_port_80: Site
) -> None:
    website = create_website(http, "127.0.0.1")
    verify = f"{WEBSITES}/{website['id']}/verify"

    site_on_port_80.file = "not the token"
    wrong = http.post(verify, json={"method": "file"})
    assert wrong.status_code == 409, wrong.text
    assert wrong.json()["code"] == "CONFLICT"
    assert ok(http.get(f"{WEBSITES}/{website['id']}"))["is_verified"] is False

    site_on_port_80.file = website["verification"]["file_content"] + "\n"
    verified = ok(http.post(verify, json={"method": "file"}))

    assert (verified["is_verified"], verified["verification_method"]) == (True, "file")
    assert verified["verified_at"].endswith("Z")
    assert ok(http.get(f"{WEBSITES}/{website['id']}")) == verified
    assert WELL_KNOWN in site_on_port_80.received
    allowed = create_monitor(http, site_on_port_80.url("/"), concurrency=2)
    assert allowed["concurrency"] == 2


def test_a_missing_verification_file_is_a_conflict(
    http: httpx.Client, site_on_port_80: Site
) -> None:
    website = create_website(http, "127.0.0.1")

    response = http.post(f"{WEBSITES}/{website['id']}/verify", json={"method": "file"})

    assert response.status_code == 409, response.text
    assert WELL_KNOWN in response.json()["error"]
    assert ok(http.get(f"{WEBSITES}/{website['id']}"))["is_verified"] is False


# --- concurrency needs a verified website -----------------------------------------------


def test_concurrency_above_one_needs_a_website(http: httpx.Client) -> None:
    response = http.post(MONITORS, json=monitor_body(concurrency=2))

    assert field_errors(response) == {"concurrency": "requires_verified_website"}
    assert count_monitors(http) == 0


def test_concurrency_above_one_needs_the_website_verified(http: httpx.Client) -> None:
    create_website(http, "127.0.0.1")
    monitor = create_monitor(http)

    created = http.post(MONITORS, json=monitor_body(concurrency=2))
    changed = http.patch(f"{MONITORS}/{monitor['id']}", json={"concurrency": 2})

    assert field_errors(created) == {"concurrency": "requires_verified_website"}
    assert field_errors(changed) == {"concurrency": "requires_verified_website"}
    assert ok(http.get(f"{MONITORS}/{monitor['id']}"))["concurrency"] == 1


def test_a_verified_website_unlocks_concurrent_requests_on_its_monitors(
    api: ApiHarness, http: httpx.Client, site: Site
) -> None:
    website = create_website(http, "127.0.0.1")
    existing = create_monitor(http, site.url("/a"))
    mark_verified(api, website["id"])

    created = create_monitor(http, site.url("/b"), concurrency=2)
    changed = ok(http.patch(f"{MONITORS}/{existing['id']}", json={"concurrency": 3}))
    check = ok(http.post(f"{MONITORS}/{created['id']}/run"))["check"]

    assert (created["concurrency"], created["website_id"]) == (2, website["id"])
    assert changed["concurrency"] == 3
    assert (check["ok"], check["requests"], check["failed_requests"]) == (True, 2, 0)
    assert site.received.count("/b") == 2


def test_a_verified_website_of_another_organization_unlocks_nothing(
    api: ApiHarness, http: httpx.Client
) -> None:
    stranger = api.seed.tenant()
    with api.client(stranger.owner.token) as their_http:
        theirs = create_website(their_http, "127.0.0.1")
    mark_verified(api, theirs["id"])

    response = http.post(MONITORS, json=monitor_body(concurrency=2))

    assert field_errors(response) == {"concurrency": "requires_verified_website"}


# --- bulk create -----------------------------------------------------------------------


def test_bulk_create_makes_every_monitor_with_one_result_each(http: httpx.Client) -> None:
    bodies = [monitor_body(name=f"Monitor {n}", tags=[f"n{n}"]) for n in range(3)]

    response = http.post(BULK, json={"monitors": bodies})

    results = ok(response, 201)["data"]
    assert [(item["index"], item["status"]) for item in results] == [(0, 201), (1, 201), (2, 201)]
    for n, item in enumerate(results):
        assert uuid.UUID(item["id"]).version == 7
        created = ok(http.get(f"{MONITORS}/{item['id']}"))
        assert (created["name"], created["tags"]) == (f"Monitor {n}", [f"n{n}"])
    assert count_monitors(http) == 3


def test_bulk_create_makes_nothing_when_one_item_breaks_a_rule(http: httpx.Client) -> None:
    bodies = [monitor_body(name="Good"), monitor_body(name="Too often", interval_seconds=5)]

    response = http.post(BULK, json={"monitors": bodies})

    assert field_errors(response) == {"monitors[1].interval_seconds": "too_small"}
    assert count_monitors(http) == 0


def test_bulk_create_makes_nothing_when_one_item_is_malformed(http: httpx.Client) -> None:
    bodies = [
        monitor_body(name="Good"),
        monitor_body(name="Also good"),
        monitor_body(name="Bad", timeout_ms=1),
        monitor_body(name="Unknown field", colour="red"),
    ]

    response = http.post(BULK, json={"monitors": bodies})

    assert set(field_errors(response)) == {"monitors[2].timeout_ms", "monitors[3].colour"}
    assert count_monitors(http) == 0


def test_bulk_create_names_the_item_whose_concurrency_is_not_allowed(http: httpx.Client) -> None:
    bodies = [monitor_body(), monitor_body(), monitor_body(concurrency=2)]

    response = http.post(BULK, json={"monitors": bodies})

    assert field_errors(response) == {"monitors[2].concurrency": "requires_verified_website"}
    assert count_monitors(http) == 0


def test_bulk_create_of_more_than_100_monitors_is_refused(http: httpx.Client) -> None:
    bodies = [monitor_body(name=f"Monitor {n}") for n in range(101)]

    response = http.post(BULK, json={"monitors": bodies})

    assert set(field_errors(response)) == {"monitors"}
    assert count_monitors(http) == 0


def test_bulk_create_of_exactly_100_monitors_is_accepted(http: httpx.Client) -> None:
    bodies = [monitor_body(name=f"Monitor {n}") for n in range(100)]

    results = ok(http.post(BULK, json={"monitors": bodies}), 201)["data"]

    assert len(results) == 100
    assert len({item["id"] for item in results}) == 100
    assert count_monitors(http) == 100


def test_monitors_created_in_one_bulk_request_can_be_paged_through(http: httpx.Client) -> None:
    bodies = [monitor_body(name=f"Monitor {n}") for n in range(30)]
    created = [item["id"] for item in ok(http.post(BULK, json={"monitors": bodies}), 201)["data"]]

    seen: list[str] = []
    params: dict[str, Any] = {"limit": 25}
    for _ in range(3):
        page = ok(http.get(MONITORS, params=params))
        seen += [item["id"] for item in page["data"]]
        if page["pagination"]["next_cursor"] is None:
            break
        params["cursor"] = page["pagination"]["next_cursor"]

    assert sorted(seen) == sorted(created)


def test_bulk_create_of_nothing_is_refused(http: httpx.Client) -> None:
    assert set(field_errors(http.post(BULK, json={"monitors": []}))) == {"monitors"}
    assert set(field_errors(http.post(BULK, json={}))) == {"monitors"}


# --- bulk update -----------------------------------------------------------------------


def test_bulk_update_changes_every_monitor(http: httpx.Client) -> None:
    ids = [create_monitor(http, name=f"Monitor {n}")["id"] for n in range(3)]

    response = http.patch(
        BULK, json={"ids": ids, "patch": {"interval_seconds": 300, "tags": ["bulk"]}}
    )

    results = ok(response)["data"]
    assert [(item["index"], item["id"], item["status"]) for item in results] == [
        (n, monitor_id, 200) for n, monitor_id in enumerate(ids)
    ]
    for n, monitor_id in enumerate(ids):
        changed = ok(http.get(f"{MONITORS}/{monitor_id}"))
        assert (changed["name"], changed["interval_seconds"], changed["tags"]) == (
            f"Monitor {n}",
            300,
            ["bulk"],
        )


def test_bulk_update_with_an_unknown_id_changes_nothing(http: httpx.Client) -> None:
    ids = [create_monitor(http)["id"], str(uuid.uuid4()), create_monitor(http)["id"]]

    response = http.patch(BULK, json={"ids": ids, "patch": {"interval_seconds": 300}})

    assert response.status_code == 404, response.text
    assert response.json()["code"] == "NOT_FOUND"
    assert "ids[1]" in response.json()["error"]
    for monitor_id in (ids[0], ids[2]):
        assert ok(http.get(f"{MONITORS}/{monitor_id}"))["interval_seconds"] == 60


def test_bulk_update_of_another_organizations_monitor_changes_nothing(
    api: ApiHarness, http: httpx.Client
) -> None:
    ours = create_monitor(http)
    stranger = api.seed.tenant()
    with api.client(stranger.owner.token) as their_http:
        theirs = create_monitor(their_http)

        response = http.patch(
            BULK, json={"ids": [ours["id"], theirs["id"]], "patch": {"name": "Mine now"}}
        )

        assert response.status_code == 404, response.text
        assert ok(their_http.get(f"{MONITORS}/{theirs['id']}"))["name"] == "Monitor"
    assert ok(http.get(f"{MONITORS}/{ours['id']}"))["name"] == "Monitor"


def test_bulk_update_rolls_back_every_item_when_one_breaks_a_rule(http: httpx.Client) -> None:
    short = create_monitor(http, timeout_ms=2000)
    long = create_monitor(http, timeout_ms=30_000)

    response = http.patch(
        BULK, json={"ids": [short["id"], long["id"]], "patch": {"interval_seconds": 20}}
    )

    assert field_errors(response) == {"ids[1].timeout_ms": "too_large"}
    for monitor in (short, long):
        assert ok(http.get(f"{MONITORS}/{monitor['id']}"))["interval_seconds"] == 60


def test_bulk_update_with_a_malformed_patch_is_refused_naming_the_field(
    http: httpx.Client,
) -> None:
    monitor = create_monitor(http)

    response = http.patch(BULK, json={"ids": [monitor["id"]], "patch": {"colour": "red"}})

    assert set(field_errors(response)) == {"patch.colour"}


def test_bulk_update_with_duplicate_ids_is_refused(http: httpx.Client) -> None:
    monitor = create_monitor(http)

    response = http.patch(
        BULK, json={"ids": [monitor["id"], monitor["id"]], "patch": {"name": "Twice"}}
    )

    assert field_errors(response) == {"ids": "duplicate"}
    assert ok(http.get(f"{MONITORS}/{monitor['id']}"))["name"] == "Monitor"


def test_bulk_update_of_more_than_100_ids_is_refused(http: httpx.Client) -> None:
    ids = [str(uuid.uuid4()) for _ in range(101)]

    response = http.patch(BULK, json={"ids": ids, "patch": {"name": "Many"}})

    assert set(field_errors(response)) == {"ids"}


# --- bulk delete -----------------------------------------------------------------------


def test_bulk_delete_removes_every_monitor(http: httpx.Client) -> None:
    ids = [create_monitor(http, name=f"Monitor {n}")["id"] for n in range(3)]
    kept = create_monitor(http, name="Kept")

    response = http.request("DELETE", BULK, json={"ids": ids})

    results = ok(response)["data"]
    assert [(item["index"], item["id"], item["status"]) for item in results] == [
        (n, monitor_id, 204) for n, monitor_id in enumerate(ids)
    ]
    for monitor_id in ids:
        assert http.get(f"{MONITORS}/{monitor_id}").status_code == 404
    assert [item["id"] for item in ok(http.get(MONITORS))["data"]] == [kept["id"]]


def test_bulk_delete_with_an_unknown_id_removes_nothing(http: httpx.Client) -> None:
    ids = [create_monitor(http)["id"], create_monitor(http)["id"], str(uuid.uuid4())]

    response = http.request("DELETE", BULK, json={"ids": ids})

    assert response.status_code == 404, response.text
    assert "ids[2]" in response.json()["error"]
    assert count_monitors(http) == 2


def test_bulk_delete_with_duplicate_ids_is_refused(http: httpx.Client) -> None:
    monitor = create_monitor(http)

    response = http.request("DELETE", BULK, json={"ids": [monitor["id"], monitor["id"]]})

    assert field_errors(response) == {"ids": "duplicate"}
    assert count_monitors(http) == 1


def test_bulk_delete_of_nothing_or_of_non_ids_is_refused(http: httpx.Client) -> None:
    assert set(field_errors(http.request("DELETE", BULK, json={"ids": []}))) == {"ids"}
    assert set(field_errors(http.request("DELETE", BULK, json={"ids": ["nope"]}))) == {"ids[0]"}


def test_bulk_operations_need_monitors_write(
    api: ApiHarness, tenant: Tenant, http: httpx.Client
) -> None:
    monitor = create_monitor(http)
    reader = api.seed.token_for(tenant.owner, tenant.organization_id, ["monitors:read"])

    with api.client(reader) as client:
        responses = [
            client.post(BULK, json={"monitors": [monitor_body()]}),
            client.patch(BULK, json={"ids": [monitor["id"]], "patch": {"name": "No"}}),
            client.request("DELETE", BULK, json={"ids": [monitor["id"]]}),
        ]

    for response in responses:
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "TOKEN_SCOPE_INSUFFICIENT"
    assert count_monitors(http) == 1
