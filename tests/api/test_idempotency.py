"""Idempotency-Key on mutating requests, over real HTTP on each backend (docs: API.md,
"Safe retries and limits"). The resource-creating request is POST /api/v1/me/tokens."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Annotated

import httpx
import pytest

from tests.conftest import ApiHarness, SettingsFactory
from tests.support.accounts import Seeder
from tests.support.server import serving
from upwatch.api.app import create_app
from upwatch.api.auth import require
from upwatch.core.clock import SystemClock
from upwatch.core.principal import Principal
from upwatch.db.engine import Database
from upwatch.idempotency.store import purge_expired
from upwatch.settings import Settings

TOKENS = "/api/v1/me/tokens"
REPLAYED = "Idempotent-Replayed"
CONCURRENT_ATTEMPTS = 5


def key() -> str:
    return f"key-{uuid.uuid4()}"


def token_count(api: ApiHarness) -> int:
    count = api.seed.scalar("SELECT count(*) FROM api_tokens")
    assert isinstance(count, int)
    return count


def create(http: httpx.Client, idempotency_key: str, name: str = "ci") -> httpx.Response:
    return http.post(TOKENS, json={"name": name}, headers={"Idempotency-Key": idempotency_key})


def test_a_retry_replays_the_first_response_byte_for_byte_and_creates_nothing(
    api: ApiHarness,
) -> None:
    tenant = api.seed.tenant()
    the_key = key()
    with api.client(tenant.owner.token) as http:
        first = create(http, the_key)
        after_first = token_count(api)
        retry = create(http, the_key)
    assert first.status_code == 201, first.text
    assert REPLAYED not in first.headers
    assert retry.status_code == 201
    assert retry.headers[REPLAYED] == "true"
    assert retry.content == first.content
    assert retry.headers["location"] == first.headers["location"]
    assert retry.headers["content-type"] == first.headers["content-type"]
    assert token_count(api) == after_first


def test_a_request_without_a_key_is_never_replayed(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    before = token_count(api)
    with api.client(tenant.owner.token) as http:
        first = http.post(TOKENS, json={"name": "ci"})
        second = http.post(TOKENS, json={"name": "ci"})
    assert (first.status_code, second.status_code) == (201, 201)
    assert REPLAYED not in second.headers
    assert first.json()["id"] != second.json()["id"]
    assert token_count(api) == before + 2


def test_the_same_key_with_a_different_body_is_refused_as_reused(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    the_key = key()
    with api.client(tenant.owner.token) as http:
        first = create(http, the_key, name="ci")
        after_first = token_count(api)
        other = create(http, the_key, name="deploys")
    assert first.status_code == 201, first.text
    assert other.status_code == 409
    assert other.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert REPLAYED not in other.headers
    assert token_count(api) == after_first


def test_a_key_of_256_characters_is_too_long_and_255_is_fine(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    before = token_count(api)
    with api.client(tenant.owner.token) as http:
        too_long = create(http, "k" * 256)
        longest = create(http, "k" * 255)
    assert too_long.status_code == 400
    assert too_long.json()["code"] == "IDEMPOTENCY_KEY_TOO_LONG"
    assert longest.status_code == 201, longest.text
    assert token_count(api) == before + 1


def test_keys_belong_to_one_token_so_another_token_gets_its_own_result(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    other_token = api.seed.token_for(tenant.owner, tenant.organization_id, ["*"])
    the_key = key()
    before = token_count(api)
    with api.client(tenant.owner.token) as mine, api.client(other_token) as theirs:
        first = create(mine, the_key)
        second = create(theirs, the_key)
    assert (first.status_code, second.status_code) == (201, 201), second.text
    assert REPLAYED not in second.headers
    assert second.json()["id"] != first.json()["id"]
    assert second.json()["token"] != first.json()["token"]
    assert token_count(api) == before + 2


def _race(api: ApiHarness, token: str, the_key: str) -> list[httpx.Response]:
    """Two clients send the same keyed request at the same moment."""
    clients = [api.client(token) for _ in range(2)]
    for client in clients:  # connect first, so the barrier releases two ready requests
        client.get("/api/v1/me").raise_for_status()
    barrier = threading.Barrier(2)
    responses: list[httpx.Response] = []
    failures: list[BaseException] = []

    def send(client: httpx.Client) -> None:
        try:
            barrier.wait(timeout=10)
            responses.append(create(client, the_key))
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=send, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for client in clients:
        client.close()
    assert not failures, failures
    assert len(responses) == 2
    return responses


def test_two_concurrent_requests_with_one_key_create_exactly_one_resource(
    api: ApiHarness,
) -> None:
    tenant = api.seed.tenant()
    for _ in range(CONCURRENT_ATTEMPTS):
        before = token_count(api)
        responses = _race(api, tenant.owner.token, key())
        fresh = [r for r in responses if r.status_code == 201 and REPLAYED not in r.headers]
        assert len(fresh) == 1, [
            (r.status_code, r.headers.get(REPLAYED), r.text) for r in responses
        ]
        (other,) = [r for r in responses if r is not fresh[0]]
        if other.status_code == 409:
            assert other.json()["code"] == "IDEMPOTENCY_IN_PROGRESS"
        else:
            assert other.status_code == 201, other.text
            assert other.headers[REPLAYED] == "true"
            assert other.content == fresh[0].content
        assert token_count(api) == before + 1


@pytest.fixture
def settings(make_settings: SettingsFactory, database_url: str) -> Settings:
    return make_settings(database_url=database_url)


@pytest.fixture
def flaky_url(settings: Settings) -> Iterator[str]:
    """The real app plus a mutating route that crashes on its first call only."""
    app = create_app(settings)
    calls: list[int] = []

    @app.post("/api/v1/flaky", status_code=201)
    async def flaky(principal: Annotated[Principal, require("tokens:write")]) -> dict[str, int]:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the first attempt breaks")
        return {"attempt": len(calls), "organization": principal.organization_id}

    with serving(app) as base_url:
        yield base_url


def test_a_server_error_is_not_stored_so_the_retry_really_runs(
    settings: Settings, flaky_url: str
) -> None:
    tenant = Seeder(settings.effective_database_url).tenant()
    headers = {"Authorization": f"Bearer {tenant.owner.token}", "Idempotency-Key": key()}
    with httpx.Client(base_url=flaky_url, headers=headers, timeout=30) as http:
        crashed = http.post("/api/v1/flaky", json={})
        retried = http.post("/api/v1/flaky", json={})
        again = http.post("/api/v1/flaky", json={})
    assert crashed.status_code == 500
    assert crashed.json()["code"] == "INTERNAL"
    assert retried.status_code == 201, retried.text
    assert REPLAYED not in retried.headers
    assert retried.json()["attempt"] == 2
    assert again.status_code == 201
    assert again.headers[REPLAYED] == "true"
    assert again.content == retried.content


def test_a_response_stored_by_one_instance_is_replayed_by_another(settings: Settings) -> None:
    seeder = Seeder(settings.effective_database_url)
    tenant = seeder.tenant()
    the_key = key()
    auth = {"Authorization": f"Bearer {tenant.owner.token}"}
    with serving(create_app(settings)) as url_a, serving(create_app(settings)) as url_b:
        with httpx.Client(base_url=url_a, headers=auth, timeout=30) as on_a:
            first = create(on_a, the_key)
        with httpx.Client(base_url=url_b, headers=auth, timeout=30) as on_b:
            replay = create(on_b, the_key)
    assert first.status_code == 201, first.text
    assert replay.status_code == 201, replay.text
    assert replay.headers[REPLAYED] == "true"
    assert replay.content == first.content
    assert seeder.scalar("SELECT count(*) FROM api_tokens") == 2  # the owner's and one new


def test_the_stored_response_is_encrypted_at_rest(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    with api.client(tenant.owner.token) as http:
        created = create(http, key(), name="a-very-recognisable-name")
    assert created.status_code == 201, created.text
    (stored,) = api.seed.rows("SELECT response_status, response_body FROM idempotency_keys")
    status, body = stored
    assert status == 201
    assert isinstance(body, bytes | memoryview)
    raw = bytes(body)
    assert raw
    assert created.json()["token"].encode() not in raw
    assert b"a-very-recognisable-name" not in raw
    assert created.content not in raw


def _purge(database_url: str, ahead: timedelta) -> int:
    async def main() -> int:
        database = Database(database_url)
        try:
            async with database.write_session() as session:
                return await purge_expired(session, SystemClock().now() + ahead)
        finally:
            await database.dispose()

    return asyncio.run(main())


def test_expired_keys_are_purged_and_the_key_can_then_be_used_again(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    the_key = key()
    url = api.settings.effective_database_url
    with api.client(tenant.owner.token) as http:
        first = create(http, the_key)
        assert _purge(url, timedelta(hours=1)) == 0  # still fresh: kept
        replay = create(http, the_key)
        assert _purge(url, timedelta(hours=25)) == 1
        assert api.seed.scalar("SELECT count(*) FROM idempotency_keys") == 0
        reused = create(http, the_key, name="a different body is fine now")
    assert first.status_code == 201, first.text
    assert replay.headers[REPLAYED] == "true"
    assert reused.status_code == 201, reused.text
    assert REPLAYED not in reused.headers
    assert reused.json()["id"] != first.json()["id"]
