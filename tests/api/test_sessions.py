"""Dashboard sessions: sign-in sets a secure cookie, writes need the CSRF token, sign-out ends it.

The cookie is Secure (the default `cookie_secure`), so httpx will not send it back over plain
http on its own: the tests read it from Set-Cookie and send it as an explicit Cookie header.
"""

from __future__ import annotations

from dataclasses import dataclass
from http.cookies import SimpleCookie

import httpx

from tests.conftest import ApiHarness
from tests.support.accounts import PASSWORD, Tenant

COOKIE = "upwatch_session"


@dataclass(frozen=True)
class SignedIn:
    cookie: str
    csrf_token: str
    body: dict[str, object]
    set_cookie: str


def sign_in(api: ApiHarness, email: str, password: str = PASSWORD, **headers: str) -> SignedIn:
    with api.client(**headers) as http:
        response = http.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    set_cookie = next(
        header
        for header in response.headers.get_list("set-cookie")
        if header.startswith(f"{COOKIE}=")
    )
    parsed: SimpleCookie = SimpleCookie()
    parsed.load(set_cookie)
    body = response.json()
    return SignedIn(parsed[COOKIE].value, body["csrf_token"], body, set_cookie)


def as_session(api: ApiHarness, signed_in: SignedIn, **headers: str) -> httpx.Client:
    return api.client(Cookie=f"{COOKIE}={signed_in.cookie}", **headers)


def test_signing_in_returns_the_user_organization_role_and_a_csrf_token(api: ApiHarness) -> None:
    tenant = api.seed.tenant()

    body = sign_in(api, tenant.owner.email).body

    assert body["user_id"] == str(tenant.owner.user_id)
    assert body["email"] == tenant.owner.email
    assert body["organization_id"] == str(tenant.organization_id)
    assert body["role"] == "owner"
    assert isinstance(body["csrf_token"], str)
    assert len(body["csrf_token"]) >= 32
    assert isinstance(body["expires_at"], str)
    assert body["expires_at"].endswith("Z")


def test_the_session_cookie_is_http_only_secure_and_same_site_lax(api: ApiHarness) -> None:
    tenant = api.seed.tenant()

    set_cookie = sign_in(api, tenant.owner.email).set_cookie

    parsed: SimpleCookie = SimpleCookie()
    parsed.load(set_cookie)
    morsel = parsed[COOKIE]
    assert morsel.value
    assert morsel["httponly"] is True
    assert morsel["secure"] is True
    assert morsel["samesite"].lower() == "lax"
    assert morsel["path"] == "/"


def test_the_session_cookie_never_equals_the_csrf_token(api: ApiHarness) -> None:
    tenant = api.seed.tenant()

    signed_in = sign_in(api, tenant.owner.email)

    assert signed_in.cookie != signed_in.csrf_token


def test_the_session_cookie_authenticates_me_as_a_session_without_a_token(
    api: ApiHarness,
) -> None:
    tenant = api.seed.tenant()
    signed_in = sign_in(api, tenant.owner.email)

    with as_session(api, signed_in) as http:
        response = http.get("/api/v1/me")

    assert response.status_code == 200, response.text
    me = response.json()
    assert me["via"] == "session"
    assert me["token"] is None
    assert me["user"] == {"id": str(tenant.owner.user_id), "email": tenant.owner.email}
    assert me["organization"]["id"] == str(tenant.organization_id)
    assert me["role"] == "owner"


def test_reads_with_the_session_cookie_need_no_csrf_token(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    signed_in = sign_in(api, tenant.owner.email)

    with as_session(api, signed_in) as http:
        response = http.get("/api/v1/members")

    assert response.status_code == 200, response.text


def test_a_write_with_the_cookie_but_no_csrf_token_is_refused(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    signed_in = sign_in(api, tenant.owner.email)

    with as_session(api, signed_in) as http:
        response = http.post("/api/v1/me/tokens", json={"name": "no csrf"})

    assert response.status_code == 403, response.text
    assert response.json()["code"] == "CSRF_TOKEN_INVALID"
    assert _token_names(api, tenant) == ["test token"]


def test_a_write_with_the_cookie_and_a_wrong_csrf_token_is_refused(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    signed_in = sign_in(api, tenant.owner.email)
    other = sign_in(api, tenant.owner.email)

    for wrong in ("not-the-token", other.csrf_token, signed_in.cookie):
        with as_session(api, signed_in, **{"X-CSRF-Token": wrong}) as http:
            response = http.post("/api/v1/me/tokens", json={"name": "wrong csrf"})
        assert response.status_code == 403, (wrong, response.text)
        assert response.json()["code"] == "CSRF_TOKEN_INVALID"
    assert _token_names(api, tenant) == ["test token"]


def test_a_write_with_the_cookie_and_its_csrf_token_succeeds(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    signed_in = sign_in(api, tenant.owner.email)

    with as_session(api, signed_in, **{"X-CSRF-Token": signed_in.csrf_token}) as http:
        response = http.post("/api/v1/me/tokens", json={"name": "from the dashboard"})

    assert response.status_code == 201, response.text
    assert sorted(_token_names(api, tenant)) == ["from the dashboard", "test token"]


def test_a_wrong_password_and_an_unknown_email_fail_the_same_way(api: ApiHarness) -> None:
    tenant = api.seed.tenant()

    with api.client() as http:
        wrong_password = http.post(
            "/api/v1/auth/login",
            json={"email": tenant.owner.email, "password": "not the password at all"},
        )
        unknown_email = http.post(
            "/api/v1/auth/login", json={"email": "nobody@example.com", "password": PASSWORD}
        )

    for response in (wrong_password, unknown_email):
        assert response.status_code == 401, response.text
        assert response.json()["code"] == "UNAUTHENTICATED"
        assert not any(
            header.startswith(f"{COOKIE}=") for header in response.headers.get_list("set-cookie")
        )
    assert wrong_password.json()["error"] == unknown_email.json()["error"]


def test_the_email_is_matched_regardless_of_case(api: ApiHarness) -> None:
    tenant = api.seed.tenant()

    body = sign_in(api, tenant.owner.email.upper()).body

    assert body["user_id"] == str(tenant.owner.user_id)


def test_requests_without_any_credentials_are_unauthenticated(api: ApiHarness) -> None:
    with api.client() as http:
        response = http.get("/api/v1/me")

    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHENTICATED"


def test_an_unknown_session_cookie_is_unauthenticated(api: ApiHarness) -> None:
    with api.client(Cookie=f"{COOKIE}=made-up-session-value") as http:
        response = http.get("/api/v1/me")

    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHENTICATED"


def test_signing_out_ends_the_session_and_clears_the_cookie(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    signed_in = sign_in(api, tenant.owner.email)

    with as_session(api, signed_in) as http:
        logout = http.post("/api/v1/auth/logout")
        after = http.get("/api/v1/me")

    assert logout.status_code == 204, logout.text
    cleared: SimpleCookie = SimpleCookie()
    cleared.load(logout.headers["set-cookie"])
    assert cleared[COOKIE].value == ""
    assert cleared[COOKIE]["max-age"] == "0"
    assert after.status_code == 401
    assert after.json()["code"] == "UNAUTHENTICATED"


def test_signing_out_one_session_leaves_the_others_signed_in(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    laptop = sign_in(api, tenant.owner.email)
    phone = sign_in(api, tenant.owner.email)

    with as_session(api, laptop) as http:
        assert http.post("/api/v1/auth/logout").status_code == 204
    with as_session(api, phone) as http:
        response = http.get("/api/v1/me")

    assert response.status_code == 200, response.text


def test_signing_in_is_recorded_in_the_audit_log_as_a_dashboard_session(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    sign_in(api, tenant.owner.email, **{"User-Agent": "Browser/1.0", "X-Request-ID": "login-1"})

    entries = _audit(api, tenant, action="session.create")

    assert len(entries) == 1
    entry = entries[0]
    assert entry["resource"]["type"] == "session"
    assert entry["actor"] == {
        "user_id": str(tenant.owner.user_id),
        "email": tenant.owner.email,
        "token_id": None,
        "token_prefix": None,
        "source": "dashboard",
    }
    assert entry["client_ip"] == "127.0.0.1"
    assert entry["user_agent"] == "Browser/1.0"
    assert entry["request_id"] == "login-1"


def test_a_failed_sign_in_creates_no_session_entry(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    with api.client() as http:
        http.post(
            "/api/v1/auth/login", json={"email": tenant.owner.email, "password": "wrong password"}
        )

    assert _audit(api, tenant, action="session.create") == []


def test_changes_made_in_a_session_are_audited_as_dashboard_without_a_token(
    api: ApiHarness,
) -> None:
    tenant = api.seed.tenant()
    signed_in = sign_in(api, tenant.owner.email)

    headers = {"X-CSRF-Token": signed_in.csrf_token, "X-Request-ID": "dash-write-1"}
    with as_session(api, signed_in, **headers) as http:
        created = http.post("/api/v1/me/tokens", json={"name": "made in the dashboard"})
    assert created.status_code == 201, created.text

    entries = _audit(api, tenant, action="token.create", resource=f"token:{created.json()['id']}")
    assert len(entries) == 1
    assert entries[0]["actor"] == {
        "user_id": str(tenant.owner.user_id),
        "email": tenant.owner.email,
        "token_id": None,
        "token_prefix": None,
        "source": "dashboard",
    }
    assert entries[0]["request_id"] == "dash-write-1"


def _token_names(api: ApiHarness, tenant: Tenant) -> list[str]:
    with api.client(tenant.owner.token) as http:
        response = http.get("/api/v1/me/tokens")
    assert response.status_code == 200, response.text
    return [token["name"] for token in response.json()["data"]]


def _audit(api: ApiHarness, tenant: Tenant, **filters: str) -> list[dict]:
    with api.client(tenant.owner.token) as http:
        response = http.get("/api/v1/audit-logs", params={"limit": 100, **filters})
    assert response.status_code == 200, response.text
    return response.json()["data"]
