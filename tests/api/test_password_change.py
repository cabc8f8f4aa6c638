"""Changing one's password: `POST /api/v1/me/password` from a signed-in dashboard session
(the current password required, other sessions ended, audited, rate-limited); never with a
token (a stolen token must not become a password)."""

from __future__ import annotations

import httpx

from tests.api.test_sessions import SignedIn, as_session, sign_in
from tests.conftest import ApiHarness
from tests.support.accounts import PASSWORD, Tenant

PATH = "/api/v1/me/password"
NEW = "a brand new long passphrase"


def change(api: ApiHarness, signed_in: SignedIn, current: str, new: str) -> httpx.Response:
    with as_session(api, signed_in, **{"X-CSRF-Token": signed_in.csrf_token}) as http:
        return http.post(PATH, json={"current_password": current, "new_password": new})


def can_sign_in(api: ApiHarness, email: str, password: str) -> bool:
    with api.client() as http:
        response = http.post("/api/v1/auth/login", json={"email": email, "password": password})
    return response.status_code == 200


def session_works(api: ApiHarness, signed_in: SignedIn) -> bool:
    with as_session(api, signed_in) as http:
        return http.get("/api/v1/me").status_code == 200


def test_a_signed_in_user_changes_their_password_and_their_other_sessions_end(
    api: ApiHarness,
) -> None:
    tenant = api.seed.tenant()
    here, elsewhere = sign_in(api, tenant.owner.email), sign_in(api, tenant.owner.email)

    response = change(api, here, PASSWORD, NEW)

    assert response.status_code == 204, response.text
    assert can_sign_in(api, tenant.owner.email, NEW)
    assert not can_sign_in(api, tenant.owner.email, PASSWORD)
    assert session_works(api, here)
    assert not session_works(api, elsewhere)
    with api.client(tenant.owner.token) as http:
        log = http.get("/api/v1/audit-logs", params={"action": "user.set_password"}).json()
    (entry,) = log["data"]
    assert entry["resource"] == {"type": "user", "id": str(tenant.owner.user_id)}
    assert NEW not in str(entry)
    assert PASSWORD not in str(entry)


def test_a_wrong_current_password_changes_nothing_and_names_the_field(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    signed_in = sign_in(api, tenant.owner.email)

    response = change(api, signed_in, "not my password at all", NEW)

    assert response.status_code == 400, response.text
    assert response.json()["code"] == "VALIDATION_FAILED"
    assert [f["path"] for f in response.json()["fields"]] == ["current_password"]
    assert can_sign_in(api, tenant.owner.email, PASSWORD)


def test_a_new_password_that_is_too_short_is_refused_naming_the_field(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    signed_in = sign_in(api, tenant.owner.email)

    response = change(api, signed_in, PASSWORD, "short")

    assert response.status_code == 400, response.text
    assert {f["path"]: f["code"] for f in response.json()["fields"]} == {
        "new_password": "too_short"
    }
    assert can_sign_in(api, tenant.owner.email, PASSWORD)


def test_a_token_cannot_change_a_password(api: ApiHarness) -> None:
    tenant: Tenant = api.seed.tenant()

    with api.client(tenant.owner.token) as http:
        response = http.post(PATH, json={"current_password": PASSWORD, "new_password": NEW})

    assert response.status_code == 403, response.text
    assert response.json()["code"] == "FORBIDDEN"
    assert "session" in response.json()["error"]
    assert can_sign_in(api, tenant.owner.email, PASSWORD)


def test_guessing_the_current_password_is_rate_limited(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    signed_in = sign_in(api, tenant.owner.email)

    answers = [change(api, signed_in, f"wrong guess number {n}", NEW) for n in range(6)]

    assert [a.status_code for a in answers] == [400] * 5 + [429]
    assert answers[-1].json()["code"] == "RATE_LIMITED"
    assert "retry-after" in answers[-1].headers
    assert change(api, signed_in, PASSWORD, NEW).status_code == 429
    assert can_sign_in(api, tenant.owner.email, PASSWORD)
