"""Personal access tokens and scopes, over real HTTP on each backend.

A token is shown once and stored as a hash; it is refused from the next request on once
revoked, expired or orphaned; every `/api/v1` route declares a scope (or is public), and a
token without that scope is refused with 403 TOKEN_SCOPE_INSUFFICIENT before the role check.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import ApiHarness
from tests.support.accounts import Tenant
from upwatch.accounts.tokens import check_grantable
from upwatch.api.auth import is_public, required_scope
from upwatch.api.routes import api_routes
from upwatch.core.errors import AppError
from upwatch.core.scopes import (
    ALL_SCOPES,
    RESOURCES,
    ROLE_SCOPES,
    Role,
    expand,
    role_allows,
    token_allows,
)

TOKEN_SHAPE = re.compile(r"^uw_[A-Za-z0-9_-]{43}$")
WRITE_METHODS = {"POST", "PUT", "PATCH"}


def _zulu(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code, body
    return body


def _field_paths(response: httpx.Response) -> set[str]:
    return {field["path"] for field in _error(response, 400, "VALIDATION_FAILED")["fields"]}


def _mint(api: ApiHarness, token: str, **body: Any) -> dict[str, Any]:
    """A token minted over the API by the holder of `token`."""
    with api.client(token) as http:
        response = http.post("/api/v1/me/tokens", json={"name": "minted", **body})
    assert response.status_code == 201, response.text
    return response.json()


def _me_status(api: ApiHarness, token: str) -> int:
    with api.client(token) as http:
        return http.get("/api/v1/me").status_code


# --- personal access tokens ---------------------------------------------------------------


def test_creating_a_token_shows_its_plaintext_once(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    created = _mint(api, tenant.owner.token, scopes=["monitors:read"])

    assert TOKEN_SHAPE.match(created["token"])
    assert uuid.UUID(created["id"])
    assert created["prefix"] == created["token"][:12]
    with api.client(tenant.owner.token) as http:
        listed = http.get("/api/v1/me/tokens")
    assert listed.status_code == 200, listed.text
    entry = next(item for item in listed.json()["data"] if item["id"] == created["id"])
    assert entry["prefix"] == created["token"][:12]
    assert "token" not in entry
    assert created["token"] not in listed.text


def test_the_database_keeps_only_a_sha256_hash_of_a_token(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    plaintext = _mint(api, tenant.owner.token)["token"]

    stored = api.seed.rows("SELECT * FROM api_tokens") + api.seed.rows("SELECT * FROM audit_logs")
    assert not any(plaintext in str(cell) for row in stored for cell in row)
    hashes = {row[0] for row in api.seed.rows("SELECT token_hash FROM api_tokens")}
    assert hashlib.sha256(plaintext.encode()).hexdigest() in hashes


def test_a_token_works_as_a_bearer_and_as_an_x_api_key(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    with api.client(tenant.owner.token) as bearer:
        by_bearer = bearer.get("/api/v1/me")
    with api.client(**{"X-Api-Key": tenant.owner.token}) as keyed:
        by_key = keyed.get("/api/v1/me")

    for response in (by_bearer, by_key):
        assert response.status_code == 200, response.text
        assert response.json()["token"]["id"] == str(tenant.owner.token_id)


def test_a_revoked_token_is_refused_at_once(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    created = _mint(api, tenant.owner.token)
    assert _me_status(api, created["token"]) == 200

    with api.client(tenant.owner.token) as http:
        revoked = http.delete(f"/api/v1/me/tokens/{created['id']}")
    assert revoked.status_code == 204, revoked.text

    with api.client(created["token"]) as http:
        _error(http.get("/api/v1/me"), 401, "UNAUTHENTICATED")
    with api.client(**{"X-Api-Key": created["token"]}) as http:
        _error(http.get("/api/v1/me"), 401, "UNAUTHENTICATED")


def test_an_expired_token_is_refused(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    two_hours_ago = datetime.now(UTC) - timedelta(hours=2)
    expired = api.seed.person(
        tenant.organization_id, Role.MEMBER, created_at=two_hours_ago, expires_in=timedelta(hours=1)
    )
    current = api.seed.person(tenant.organization_id, Role.MEMBER, expires_in=timedelta(hours=1))

    with api.client(expired.token) as http:
        _error(http.get("/api/v1/me"), 401, "UNAUTHENTICATED")
    assert _me_status(api, current.token) == 200


def test_an_expiry_in_the_past_is_refused_naming_expires_at(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    past = _zulu(datetime.now(UTC) - timedelta(minutes=5))
    with api.client(tenant.owner.token) as http:
        response = http.post("/api/v1/me/tokens", json={"name": "late", "expires_at": past})
    assert "expires_at" in _field_paths(response)


def test_an_unknown_scope_is_refused_naming_scopes(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    with api.client(tenant.owner.token) as http:
        response = http.post(
            "/api/v1/me/tokens", json={"name": "odd", "scopes": ["monitors:read", "moon:read"]}
        )
    assert _field_paths(response) == {"scopes"}


def test_an_unknown_body_field_is_refused(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    with api.client(tenant.owner.token) as http:
        response = http.post("/api/v1/me/tokens", json={"name": "x", "admin": True})
    fields = _error(response, 400, "VALIDATION_FAILED")["fields"]
    assert {"path": "admin", "code": "unknown_field"} in [
        {"path": item["path"], "code": item["code"]} for item in fields
    ]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Bearer uw_" + "A" * 43},
        {"X-Api-Key": "garbage"},
    ],
    ids=["none", "garbage-bearer", "unknown-token", "garbage-api-key"],
)
def test_a_missing_or_bad_credential_is_401_with_www_authenticate(
    api: ApiHarness, headers: dict[str, str]
) -> None:
    with api.client(**headers) as http:
        response = http.get("/api/v1/me")
    _error(response, 401, "UNAUTHENTICATED")
    assert response.headers.get("WWW-Authenticate", "").startswith("Bearer")


def test_a_token_stops_working_when_its_owner_leaves_the_organization(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    member = api.seed.person(tenant.organization_id, Role.MEMBER)
    assert _me_status(api, member.token) == 200

    with api.client(tenant.owner.token) as http:
        removed = http.delete(f"/api/v1/members/{member.user_id}")
    assert removed.status_code == 204, removed.text

    with api.client(member.token) as http:
        _error(http.get("/api/v1/me"), 401, "UNAUTHENTICATED")


# --- scopes over HTTP ---------------------------------------------------------------------


def _token_names(api: ApiHarness, tenant: Tenant) -> list[str]:
    with api.client(tenant.owner.token) as http:
        return [item["name"] for item in http.get("/api/v1/me/tokens").json()["data"]]


def test_a_token_lacking_the_scope_is_refused_and_changes_nothing(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    reader = api.seed.token_for(tenant.owner, tenant.organization_id, ["monitors:read"])
    before = _token_names(api, tenant)

    with api.client(reader) as http:
        response = http.post("/api/v1/me/tokens", json={"name": "escalated"})
    _error(response, 403, "TOKEN_SCOPE_INSUFFICIENT")
    assert _token_names(api, tenant) == before


@pytest.mark.parametrize("scope", ["tokens:*", "*"])
def test_a_wildcard_scope_grants_what_it_covers(api: ApiHarness, scope: str) -> None:
    tenant = api.seed.tenant()
    token = api.seed.token_for(tenant.owner, tenant.organization_id, [scope])
    with api.client(token) as http:
        assert http.get("/api/v1/me/tokens").status_code == 200
        assert http.post("/api/v1/me/tokens", json={"name": "child"}).status_code == 201
        members = http.get("/api/v1/members")
    if scope == "*":
        assert members.status_code == 200, members.text
    else:
        _error(members, 403, "TOKEN_SCOPE_INSUFFICIENT")


def test_a_viewer_with_an_all_powerful_token_is_still_forbidden_by_role(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    viewer = api.seed.person(tenant.organization_id, Role.VIEWER, ["*"])
    with api.client(viewer.token) as http:
        response = http.post("/api/v1/invitations", json={"email": "x@example.com"})
        _error(response, 403, "FORBIDDEN")
        _error(http.delete(f"/api/v1/members/{tenant.owner.user_id}"), 403, "FORBIDDEN")
    with api.client(tenant.owner.token) as http:
        assert http.get("/api/v1/invitations").json()["data"] == []


def test_the_token_scope_is_checked_before_the_role(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    viewer = api.seed.person(tenant.organization_id, Role.VIEWER, ["monitors:read"])
    with api.client(viewer.token) as http:
        response = http.post("/api/v1/invitations", json={"email": "x@example.com"})
    _error(response, 403, "TOKEN_SCOPE_INSUFFICIENT")


# --- a token grants no more than it holds --------------------------------------------------


def test_a_tokens_write_token_cannot_mint_an_all_powerful_token(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    minter = api.seed.token_for(tenant.owner, tenant.organization_id, ["tokens:write"])
    before = _token_names(api, tenant)

    with api.client(minter) as http:
        response = http.post("/api/v1/me/tokens", json={"name": "escalated", "scopes": ["*"]})
        monitors = http.post("/api/v1/monitors", json={"name": "x"})

    body = _error(response, 403, "TOKEN_SCOPE_INSUFFICIENT")
    assert "*" in body["error"]
    assert [field["path"] for field in body["fields"]] == ["scopes[0]"]
    assert _token_names(api, tenant) == before
    _error(monitors, 403, "TOKEN_SCOPE_INSUFFICIENT")


@pytest.mark.parametrize(
    ("held", "requested", "refused"),
    [
        (["tokens:write"], ["tokens:write"], None),
        (["tokens:write"], ["tokens:read"], "tokens:read"),
        (["tokens:write"], ["tokens:*"], "tokens:*"),
        (["tokens:write"], ["monitors:write"], "monitors:write"),
        (["tokens:*"], ["tokens:read", "tokens:write"], None),
        (["tokens:write", "monitors:*"], ["monitors:read"], None),
        (["tokens:write", "monitors:read"], ["monitors:*"], "monitors:*"),
        (["tokens:write", "monitors:read"], ["monitors:read", "monitors:write"], "monitors:write"),
        (["tokens:write", "monitors:*", "heartbeats:*"], ["*"], "*"),
        (["*"], ["*"], None),
        (["*"], ["members:*", "audit:read"], None),
    ],
)
def test_a_token_mints_only_tokens_within_its_own_scopes(
    api: ApiHarness, held: list[str], requested: list[str], refused: str | None
) -> None:
    tenant = api.seed.tenant()
    minter = api.seed.token_for(tenant.owner, tenant.organization_id, held)
    with api.client(minter) as http:
        response = http.post("/api/v1/me/tokens", json={"name": "child", "scopes": requested})
    if refused is None:
        assert response.status_code == 201, response.text
        assert response.json()["scopes"] == sorted(requested)
        return
    body = _error(response, 403, "TOKEN_SCOPE_INSUFFICIENT")
    assert [field["path"] for field in body["fields"]] == [f"scopes[{requested.index(refused)}]"]
    assert refused in body["fields"][0]["message"]


def test_a_token_minted_without_scopes_gets_exactly_what_its_minter_can_do(
    api: ApiHarness,
) -> None:
    tenant = api.seed.tenant()
    minter = api.seed.token_for(
        tenant.owner, tenant.organization_id, ["tokens:write", "monitors:*"]
    )
    child = _mint(api, minter)
    owners = _mint(api, tenant.owner.token)

    assert child["scopes"] == ["monitors:read", "monitors:write", "tokens:write"]
    assert owners["scopes"] == ["*"]


@pytest.mark.parametrize("requested", [["*"], ["audit:read"], ["members:*"]])
def test_nobody_mints_a_token_beyond_their_role(api: ApiHarness, requested: list[str]) -> None:
    tenant = api.seed.tenant()
    member = api.seed.person(tenant.organization_id, Role.MEMBER, ["*"])
    with api.client(member.token) as http:
        response = http.post("/api/v1/me/tokens", json={"name": "child", "scopes": requested})
    body = _error(response, 403, "FORBIDDEN")
    assert body["fields"][0]["path"] == "scopes[0]"
    assert "member" in body["error"]


def test_a_member_minting_without_scopes_gets_the_members_capabilities(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    member = api.seed.person(tenant.organization_id, Role.MEMBER, ["*"])
    child = _mint(api, member.token)
    assert set(child["scopes"]) == ROLE_SCOPES[Role.MEMBER]


_SCOPE_TEXT = st.sampled_from(["*", *(f"{r}:*" for r in RESOURCES), *sorted(ALL_SCOPES)])


@given(
    held=st.lists(_SCOPE_TEXT, max_size=4),
    requested=st.lists(_SCOPE_TEXT, min_size=1, max_size=4),
    role=st.sampled_from(list(Role)),
)
def test_a_grantable_token_never_allows_what_its_minter_cannot(
    held: list[str], requested: list[str], role: Role
) -> None:
    """Checked against `token_allows` / `role_allows`, scope by scope: whatever passes the
    check grants nothing its minter lacks, and whatever would is refused."""
    exceeds = any(
        token_allows(requested, scope)
        and not (token_allows(held, scope) and role_allows(role, scope))
        for scope in ALL_SCOPES
    )
    try:
        check_grantable(requested, held=held, role=role)
    except AppError:
        assert exceeds
    else:
        assert not exceeds


# --- scopes and the capability matrix, as tables ------------------------------------------


@pytest.mark.parametrize(
    ("scopes", "expected"),
    [
        (["*"], ALL_SCOPES),
        (["tokens:*"], {"tokens:read", "tokens:write"}),
        (["monitors:read", "monitors:read"], {"monitors:read"}),
        (["monitors:read", "audit:*"], {"monitors:read", "audit:read", "audit:write"}),
        (["moon:read", "moon:*"], set()),
        ([], set()),
    ],
)
def test_expand_turns_wildcards_into_concrete_scopes(scopes: list[str], expected: set[str]) -> None:
    assert expand(scopes) == expected


@pytest.mark.parametrize(
    ("scopes", "required", "allowed"),
    [
        (["*"], "organization:write", True),
        (["monitors:*"], "monitors:write", True),
        (["monitors:*"], "heartbeats:read", False),
        (["monitors:write"], "monitors:read", False),
        (["monitors:read"], "monitors:write", False),
        (["tokens:read", "tokens:write"], "tokens:write", True),
        ([], "tokens:read", False),
    ],
)
def test_a_token_allows_exactly_its_expanded_scopes(
    scopes: list[str], required: str, allowed: bool
) -> None:
    assert token_allows(scopes, required) is allowed


EVERYDAY = ("monitors", "heartbeats", "incidents", "channels", "status-pages", "maintenance")
# The capability matrix of docs/api.md: (scopes, owner, admin, member, viewer).
MATRIX: list[tuple[list[str], tuple[bool, bool, bool, bool]]] = [
    ([f"{r}:read" for r in EVERYDAY], (True, True, True, True)),
    ([f"{r}:write" for r in EVERYDAY], (True, True, True, False)),
    (["tokens:read", "tokens:write"], (True, True, True, True)),
    (["members:read", "events:read", "organization:read"], (True, True, True, True)),
    (["members:write", "webhooks:read", "webhooks:write"], (True, True, False, False)),
    (
        ["audit:read", "secrets:read", "events:write", "audit:write", "secrets:write"],
        (True, True, False, False),
    ),
    (["organization:write"], (True, False, False, False)),
]
ROLES = (Role.OWNER, Role.ADMIN, Role.MEMBER, Role.VIEWER)


def test_the_capability_matrix_covers_every_scope() -> None:
    assert {scope for scopes, _ in MATRIX for scope in scopes} == ALL_SCOPES


@pytest.mark.parametrize(
    ("role", "scope", "allowed"),
    [
        (role, scope, row[index])
        for scopes, row in MATRIX
        for scope in scopes
        for index, role in enumerate(ROLES)
    ],
)
def test_each_role_has_the_documented_capabilities(role: Role, scope: str, allowed: bool) -> None:
    assert role_allows(role, scope) is allowed


def test_a_lower_role_never_can_more_than_a_higher_one() -> None:
    for lower, higher in zip(ROLES[1:], ROLES, strict=False):
        extra = {scope for scope in ALL_SCOPES if role_allows(lower, scope)} - {
            scope for scope in ALL_SCOPES if role_allows(higher, scope)
        }
        assert extra == set(), f"{lower} can {extra} which {higher} cannot"


def test_a_viewer_only_reads_and_manages_its_own_tokens() -> None:
    granted = {scope for scope in ALL_SCOPES if role_allows(Role.VIEWER, scope)}
    assert {scope for scope in granted if not scope.endswith(":read")} == {"tokens:write"}
    assert {"secrets:read", "audit:read"}.isdisjoint(granted)


# --- the route table ----------------------------------------------------------------------


def test_every_api_route_declares_a_scope_or_is_public() -> None:
    routes = [route for route in api_routes() if route.path.startswith("/api/v1")]
    undeclared = [
        f"{sorted(route.methods)} {route.path}"
        for route in routes
        if required_scope(route) is None and not is_public(route)
    ]
    assert routes, "the route table is empty"
    assert undeclared == []
    assert all(required_scope(route) in ALL_SCOPES for route in routes if not is_public(route))


def _scoped_calls() -> list[tuple[str, str, str]]:
    """(method, path with random ids, scope) for every scoped route of the API."""
    calls = []
    for route in api_routes():
        scope = required_scope(route)
        if scope is None:
            continue
        path = route.path_format
        for name in route.param_convertors:
            path = path.replace(f"{{{name}}}", str(uuid.uuid4()))
        calls.extend((method, path, scope) for method in sorted(route.methods) if method != "HEAD")
    return calls


def test_every_scoped_route_refuses_a_token_without_its_scope(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    tokens: dict[str, str] = {}
    calls = _scoped_calls()
    assert calls
    for method, path, scope in calls:
        if scope not in tokens:
            others = sorted(ALL_SCOPES - {scope})
            tokens[scope] = api.seed.token_for(tenant.owner, tenant.organization_id, others)
        body = {"json": {}} if method in WRITE_METHODS else {}
        with api.client(tokens[scope]) as http:
            response = http.request(method, path, **body)
        assert response.status_code == 403, f"{method} {path}: {response.text}"
        assert response.json()["code"] == "TOKEN_SCOPE_INSUFFICIENT", f"{method} {path}"


def test_the_openapi_document_names_the_scope_of_every_operation(api: ApiHarness) -> None:
    with api.client() as http:
        document = http.get("/openapi.json")
    assert document.status_code == 200, document.text
    paths = document.json()["paths"]
    # One URL is one path of the document, under its first route's parameter names.
    by_shape = {re.sub(r"\{[^}]+\}", "{}", path): operations for path, operations in paths.items()}
    for route in api_routes():
        expected = required_scope(route) or "public"
        for method in route.methods - {"HEAD"}:
            operation = by_shape[re.sub(r"\{[^}]+\}", "{}", route.path_format)][method.lower()]
            assert operation.get("x-required-scope") == expected, f"{method} {route.path}"
    unlabelled = [
        f"{method.upper()} {path}"
        for path, operations in paths.items()
        if path.startswith("/api/v1")
        for method, operation in operations.items()
        if "x-required-scope" not in operation
    ]
    assert unlabelled == []
