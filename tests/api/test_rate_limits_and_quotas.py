"""Rate limits, the daily mutation cap and organization quotas, over real HTTP on each
backend (docs: API.md, "Safe retries and limits")."""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed

import httpx
import pytest
from sqlalchemy import update

from tests.api.conftest import Serve
from tests.conftest import ApiHarness
from tests.support.accounts import Tenant
from upwatch.core.scopes import Role
from upwatch.db.engine import Database
from upwatch.models import ApiToken

ME = "/api/v1/me"
TOKENS = "/api/v1/me/tokens"
RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


def remaining(response: httpx.Response) -> int:
    return int(response.headers["X-RateLimit-Remaining"])


def in_one_window(run: Callable[[], list[httpx.Response]]) -> list[httpx.Response]:
    """Run `run` (which must use fresh counters each time) until its requests all fell in one
    rate-limit window: a window that ends mid-run shows as X-RateLimit-Reset jumping up (by
    far more than the one second that concurrent requests may finish out of order)."""
    for _ in range(2):
        responses = run()
        resets = [int(r.headers["X-RateLimit-Reset"]) for r in responses]
        if all(later <= earlier + 1 for earlier, later in itertools.pairwise(resets)):
            return responses
    pytest.fail("the rate-limit window rolled over during two runs in a row")


def fresh_token(harness: ApiHarness, tenant: Tenant) -> str:
    return harness.seed.person(tenant.organization_id, Role.OWNER).token


def token_unique_across_runs(harness: ApiHarness, tenant: Tenant) -> str:
    """A new token whose internal id no other database uses: shared (Redis) counters are
    keyed by that id, and every fresh test database numbers its tokens from 1."""
    person = harness.seed.person(tenant.organization_id, Role.OWNER)
    new_id = 10**12 + secrets.randbelow(10**12)

    async def main() -> None:
        database = Database(harness.settings.effective_database_url)
        try:
            async with database.write_session() as session:
                await session.execute(
                    update(ApiToken).where(ApiToken.public_id == person.token_id).values(id=new_id)
                )
                await session.commit()
        finally:
            await database.dispose()

    asyncio.run(main())
    return person.token


def assert_rate_limit_headers(response: httpx.Response, limit: int) -> None:
    for name in RATE_HEADERS:
        assert name in response.headers, (response.status_code, name, response.text)
    assert int(response.headers["X-RateLimit-Limit"]) == limit
    assert 0 <= remaining(response) < limit
    assert 1 <= int(response.headers["X-RateLimit-Reset"]) <= 60


# --- per-token rate limits -------------------------------------------------------------


def test_every_authenticated_response_carries_the_rate_limit_headers_errors_included(
    api: ApiHarness,
) -> None:
    tenant = api.seed.tenant()
    read_only = api.seed.token_for(tenant.owner, tenant.organization_id, ["tokens:read"])
    viewer = api.seed.person(tenant.organization_id, Role.VIEWER)
    keyed = {"Idempotency-Key": str(uuid.uuid4())}
    with api.client(tenant.owner.token) as owner:
        answers = {
            "read": owner.get(ME),
            "created": owner.post(TOKENS, json={"name": "ci"}, headers=keyed),
            "replayed": owner.post(TOKENS, json={"name": "ci"}, headers=keyed),
            "reused": owner.post(TOKENS, json={"name": "other"}, headers=keyed),
            "invalid": owner.post(TOKENS, json={"name": ""}),
            "missing": owner.delete(f"{TOKENS}/{uuid.uuid4()}"),
        }
    with api.client(read_only) as http:
        answers["scope"] = http.post(TOKENS, json={"name": "ci"})
    with api.client(viewer.token) as http:
        answers["role"] = http.get("/api/v1/audit-logs")
    seen = {name: (r.status_code, r.json().get("code")) for name, r in answers.items()}
    assert seen == {
        "read": (200, None),
        "created": (201, None),
        "replayed": (201, None),
        "reused": (409, "IDEMPOTENCY_KEY_REUSED"),
        "invalid": (400, "VALIDATION_FAILED"),
        "missing": (404, "NOT_FOUND"),
        "scope": (403, "TOKEN_SCOPE_INSUFFICIENT"),
        "role": (403, "FORBIDDEN"),
    }
    assert answers["replayed"].headers["Idempotent-Replayed"] == "true"
    for response in answers.values():
        assert_rate_limit_headers(response, 600)
    assert remaining(answers["replayed"]) < remaining(answers["created"])  # fresh, not stored


def test_the_remaining_budget_counts_down_with_each_request(api: ApiHarness) -> None:
    tenant = api.seed.tenant()

    def run() -> list[httpx.Response]:
        with api.client(fresh_token(api, tenant)) as http:
            return [http.get(ME) for _ in range(3)]

    responses = in_one_window(run)
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert [remaining(r) for r in responses] == [599, 598, 597]


def test_the_601st_request_in_a_minute_is_refused_with_retry_after(api: ApiHarness) -> None:
    tenant = api.seed.tenant()

    def run() -> list[httpx.Response]:
        """601 requests from one client, several at a time, in the order they finish."""
        with api.client(fresh_token(api, tenant)) as http, ThreadPoolExecutor(8) as pool:
            pending = [pool.submit(http.get, ME) for _ in range(601)]
            return [future.result() for future in as_completed(pending)]

    responses = in_one_window(run)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 600 + [429]
    assert sorted(remaining(r) for r in responses if r.status_code == 200) == list(range(600))
    (refused,) = [r for r in responses if r.status_code == 429]
    assert refused.json()["code"] == "RATE_LIMITED"
    assert_rate_limit_headers(refused, 600)
    assert remaining(refused) == 0
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["Retry-After"] == refused.headers["X-RateLimit-Reset"]


def test_the_limit_is_per_token_so_another_token_is_unaffected(serve: Serve) -> None:
    api = serve(rate_limit_per_minute=3)
    tenant = api.seed.tenant()

    def run() -> list[httpx.Response]:
        with (
            api.client(fresh_token(api, tenant)) as spent,
            api.client(fresh_token(api, tenant)) as other,
        ):
            return [*(spent.get(ME) for _ in range(4)), other.get(ME), spent.get(ME)]

    responses = in_one_window(run)
    assert [r.status_code for r in responses] == [200, 200, 200, 429, 200, 429]
    assert remaining(responses[4]) == 2
    assert responses[5].json()["code"] == "RATE_LIMITED"


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("UPWATCH_TEST_REDIS_URL")
    if not url:
        pytest.skip("Redis tests need UPWATCH_TEST_REDIS_URL (.ci/run sets it)")
    return url


def test_instances_sharing_redis_share_one_budget(serve: Serve, redis_url: str) -> None:
    first = serve(redis_url=redis_url, rate_limit_per_minute=10)
    second = serve(redis_url=redis_url, rate_limit_per_minute=10)
    tenant = first.seed.tenant()

    def run() -> list[httpx.Response]:
        token = token_unique_across_runs(first, tenant)
        with first.client(token) as on_a, second.client(token) as on_b:
            shared = [*(on_a.get(ME) for _ in range(5)), *(on_b.get(ME) for _ in range(5))]
            return [*shared, on_a.get(ME), on_b.get(ME)]

    responses = in_one_window(run)
    assert [r.status_code for r in responses[:10]] == [200] * 10
    assert [remaining(r) for r in responses[:10]] == list(range(9, -1, -1))
    assert [r.status_code for r in responses[10:]] == [429, 429]
    assert {r.json()["code"] for r in responses[10:]} == {"RATE_LIMITED"}
    assert all("Retry-After" in r.headers for r in responses[10:])


def test_public_routes_are_limited_per_client_ip(serve: Serve) -> None:
    def run() -> list[httpx.Response]:
        api = serve(public_rate_limit_per_minute=3)  # a new instance: fresh per-IP counters
        owner = api.seed.tenant().owner
        credentials = {"email": owner.email, "password": owner.password}
        with api.client() as http:
            return [http.post("/api/v1/auth/login", json=credentials) for _ in range(4)]

    responses = in_one_window(run)
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert [remaining(r) for r in responses] == [2, 1, 0, 0]
    assert responses[3].json()["code"] == "RATE_LIMITED"
    assert 1 <= int(responses[3].headers["Retry-After"]) <= 60


# --- the daily mutation cap of a token --------------------------------------------------


def test_a_token_over_its_daily_mutation_cap_is_refused_but_can_still_read(
    api: ApiHarness,
) -> None:
    tenant = api.seed.tenant()
    capped = api.seed.token_for(tenant.owner, tenant.organization_id, ["*"], daily_mutation_limit=2)
    with api.client(capped) as http:
        first = http.post(TOKENS, json={"name": "one"})
        second = http.post(TOKENS, json={"name": "two"})
        me_at_cap = http.get(ME)
        count_at_cap = api.seed.scalar("SELECT count(*) FROM api_tokens")
        third = http.post(TOKENS, json={"name": "three"})
        listed = http.get(TOKENS)
        me_after = http.get(ME)
    assert (first.status_code, second.status_code) == (201, 201), second.text
    assert first.headers["X-Quota-Daily-Limit"] == "2"
    assert [
        first.headers["X-Quota-Daily-Remaining"],
        second.headers["X-Quota-Daily-Remaining"],
    ] == [
        "1",
        "0",
    ]
    assert me_at_cap.json()["token"]["daily_mutation_limit"] == 2
    assert me_at_cap.json()["token"]["mutations_today"] == 2
    assert third.status_code == 429
    assert third.json()["code"] == "TOKEN_DAILY_LIMIT_EXCEEDED"
    assert third.headers["X-Quota-Daily-Limit"] == "2"
    assert third.headers["X-Quota-Daily-Remaining"] == "0"
    assert 1 <= int(third.headers["Retry-After"]) <= 86_400
    assert api.seed.scalar("SELECT count(*) FROM api_tokens") == count_at_cap
    assert listed.status_code == 200
    assert me_after.status_code == 200


def test_a_retry_of_a_mutation_made_before_the_cap_is_still_replayed(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    capped = api.seed.token_for(tenant.owner, tenant.organization_id, ["*"], daily_mutation_limit=1)
    keyed = {"Idempotency-Key": str(uuid.uuid4())}
    with api.client(capped) as http:
        made = http.post(TOKENS, json={"name": "one"}, headers=keyed)
        refused = http.post(TOKENS, json={"name": "two"})
        retried = http.post(TOKENS, json={"name": "one"}, headers=keyed)
    assert (made.status_code, refused.status_code) == (201, 429)
    assert retried.status_code == 201, retried.text
    assert retried.headers["Idempotent-Replayed"] == "true"
    assert retried.content == made.content


def test_a_mutation_refused_by_the_daily_cap_is_not_counted_as_made(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    capped = api.seed.token_for(tenant.owner, tenant.organization_id, ["*"], daily_mutation_limit=1)
    with api.client(capped) as http:
        made = http.post(TOKENS, json={"name": "one"})
        refused = http.post(TOKENS, json={"name": "two"})
        me = http.get(ME).json()
    assert (made.status_code, refused.status_code) == (201, 429)
    assert me["token"]["mutations_today"] == 1


def test_a_token_without_a_cap_gets_no_daily_quota_headers(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    with api.client(tenant.owner.token) as http:
        created = http.post(TOKENS, json={"name": "ci"})
        me = http.get(ME).json()
    assert created.status_code == 201, created.text
    assert "X-Quota-Daily-Limit" not in created.headers
    assert me["token"]["daily_mutation_limit"] is None


def test_mutations_today_counts_the_mutations_of_a_token_without_a_cap_too(
    api: ApiHarness,
) -> None:
    tenant = api.seed.tenant()
    with api.client(tenant.owner.token) as http:
        created = [http.post(TOKENS, json={"name": f"t{n}"}) for n in range(2)]
        me = http.get(ME).json()
    assert [r.status_code for r in created] == [201, 201]
    assert me["token"]["mutations_today"] == 2


# --- organization quotas ----------------------------------------------------------------


def test_creating_a_token_beyond_the_organization_quota_is_refused(serve: Serve) -> None:
    api = serve(quota_max_tokens=3)
    tenant = api.seed.tenant()  # the owner's token is the first of three
    with api.client(tenant.owner.token) as http:
        second = http.post(TOKENS, json={"name": "two"})
        third = http.post(TOKENS, json={"name": "three"})
        fourth = http.post(TOKENS, json={"name": "four"})
        quotas = http.get(ME).json()["quotas"]
    assert (second.status_code, third.status_code) == (201, 201), third.text
    assert second.headers["X-Quota-Tokens-Limit"] == "3"
    assert [
        second.headers["X-Quota-Tokens-Remaining"],
        third.headers["X-Quota-Tokens-Remaining"],
    ] == [
        "1",
        "0",
    ]
    assert fourth.status_code == 429
    assert fourth.json()["code"] == "QUOTA_EXCEEDED"
    assert fourth.headers["X-Quota-Tokens-Limit"] == "3"
    assert fourth.headers["X-Quota-Tokens-Remaining"] == "0"
    assert api.seed.scalar("SELECT count(*) FROM api_tokens") == 3
    assert quotas["tokens"] == {"limit": 3, "used": 3}


def test_revoking_a_token_frees_a_place_in_the_quota(serve: Serve) -> None:
    api = serve(quota_max_tokens=2)
    tenant = api.seed.tenant()
    with api.client(tenant.owner.token) as http:
        extra = http.post(TOKENS, json={"name": "two"})
        refused = http.post(TOKENS, json={"name": "three"})
        revoked = http.delete(f"{TOKENS}/{extra.json()['id']}")
        quotas = http.get(ME).json()["quotas"]
        allowed = http.post(TOKENS, json={"name": "three"})
    assert (extra.status_code, refused.status_code, revoked.status_code) == (201, 429, 204)
    assert quotas["tokens"] == {"limit": 2, "used": 1}
    assert allowed.status_code == 201, allowed.text


def test_organizations_are_unlimited_by_default(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    with api.client(tenant.owner.token) as http:
        created = [http.post(TOKENS, json={"name": f"t{n}"}) for n in range(3)]
        quotas = http.get(ME).json()["quotas"]
    assert [r.status_code for r in created] == [201, 201, 201]
    assert all("X-Quota-Tokens-Limit" not in r.headers for r in created)
    assert quotas["tokens"] == {"limit": None, "used": 4}
