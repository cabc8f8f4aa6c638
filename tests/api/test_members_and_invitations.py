"""Members and their roles, and invitations: by code, and by email through a real SMTP server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import update

from tests.conftest import ApiHarness, SettingsFactory
from tests.support.accounts import PASSWORD, Person
from tests.support.smtp import Mailbox, smtp_server
from upwatch.core.scopes import Role
from upwatch.db.engine import Database
from upwatch.db.unit_of_work import unit_of_work
from upwatch.models import Invitation
from upwatch.settings import Settings

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with smtp_server() as served:
        yield served


@pytest.fixture
def smtp_configured() -> bool:
    """Whether the app is told about the SMTP server; parametrize to False to turn it off."""
    return True


@pytest.fixture
def api_settings(
    make_settings: SettingsFactory, database_url: str, mailbox: Mailbox, smtp_configured: bool
) -> Settings:
    if not smtp_configured:
        return make_settings(database_url=database_url)
    return make_settings(
        database_url=database_url,
        smtp_host="127.0.0.1",
        smtp_port=mailbox.port,
        smtp_security="none",
    )


def members(api: ApiHarness, token: str) -> dict[str, dict[str, Any]]:
    with api.client(token) as http:
        response = http.get("/api/v1/members")
    assert response.status_code == 200, response.text
    return {member["email"]: member for member in response.json()["data"]}


def set_role(api: ApiHarness, token: str, person: Person, role: str) -> Any:
    with api.client(token) as http:
        return http.patch(f"/api/v1/members/{person.user_id}", json={"role": role})


def remove(api: ApiHarness, token: str, person: Person) -> Any:
    with api.client(token) as http:
        return http.delete(f"/api/v1/members/{person.user_id}")


def invite(api: ApiHarness, token: str, email: str, role: str = "member") -> dict[str, Any]:
    with api.client(token) as http:
        response = http.post("/api/v1/invitations", json={"email": email, "role": role})
    assert response.status_code == 201, response.text
    return response.json()


def accept(api: ApiHarness, code: str, password: str = NEW_PASSWORD, name: str = "") -> Any:
    with api.client() as http:
        return http.post(
            "/api/v1/invitations/accept", json={"code": code, "password": password, "name": name}
        )


def sign_in(api: ApiHarness, email: str, password: str) -> Any:
    with api.client() as http:
        return http.post("/api/v1/auth/login", json={"email": email, "password": password})


def assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["code"] == code


# Members


def test_members_are_listed_with_email_role_and_joining_time(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    admin = api.seed.person(tenant.organization_id, Role.ADMIN)

    listed = members(api, tenant.owner.token)

    assert set(listed) == {tenant.owner.email, admin.email}
    assert listed[tenant.owner.email]["role"] == "owner"
    assert listed[admin.email]["role"] == "admin"
    assert listed[admin.email]["user_id"] == str(admin.user_id)
    assert listed[admin.email]["joined_at"].endswith("Z")


def test_members_of_another_organization_are_not_listed(api: ApiHarness) -> None:
    ours, theirs = api.seed.tenant(), api.seed.tenant()

    assert theirs.owner.email not in members(api, ours.owner.token)
    assert_error(set_role(api, ours.owner.token, theirs.owner, "member"), 404, "NOT_FOUND")


def test_an_owner_changes_a_members_role(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    member = api.seed.person(tenant.organization_id, Role.MEMBER)

    response = set_role(api, tenant.owner.token, member, "admin")

    assert response.status_code == 200, response.text
    assert response.json()["role"] == "admin"
    assert members(api, tenant.owner.token)[member.email]["role"] == "admin"


def test_an_unknown_role_is_a_validation_error_naming_role(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    member = api.seed.person(tenant.organization_id, Role.MEMBER)

    response = set_role(api, tenant.owner.token, member, "superuser")

    assert_error(response, 400, "VALIDATION_FAILED")
    assert [field["path"] for field in response.json()["fields"]] == ["role"]


def test_the_sole_owner_cannot_be_demoted_or_removed(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    admin = api.seed.person(tenant.organization_id, Role.ADMIN)

    assert_error(set_role(api, tenant.owner.token, tenant.owner, "admin"), 409, "SOLE_OWNER")
    assert_error(remove(api, tenant.owner.token, tenant.owner), 409, "SOLE_OWNER")
    assert members(api, admin.token)[tenant.owner.email]["role"] == "owner"


def test_with_two_owners_one_can_be_demoted_and_the_other_removed(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    second = api.seed.person(tenant.organization_id, Role.OWNER)

    assert set_role(api, second.token, tenant.owner, "admin").status_code == 200
    assert_error(set_role(api, second.token, second, "member"), 409, "SOLE_OWNER")
    assert set_role(api, second.token, tenant.owner, "owner").status_code == 200
    assert remove(api, tenant.owner.token, second).status_code == 204

    assert set(members(api, tenant.owner.token)) == {tenant.owner.email}


def test_a_removed_members_token_stops_working(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    member = api.seed.person(tenant.organization_id, Role.MEMBER)

    assert remove(api, tenant.owner.token, member).status_code == 204

    with api.client(member.token) as http:
        assert_error(http.get("/api/v1/me"), 401, "UNAUTHENTICATED")


def test_an_admin_manages_members_below_owner(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    admin = api.seed.person(tenant.organization_id, Role.ADMIN)
    member = api.seed.person(tenant.organization_id, Role.MEMBER)
    viewer = api.seed.person(tenant.organization_id, Role.VIEWER)

    assert set_role(api, admin.token, member, "admin").json()["role"] == "admin"
    assert remove(api, admin.token, viewer).status_code == 204


def test_an_admin_cannot_promote_to_owner_or_touch_an_owner(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    second_owner = api.seed.person(tenant.organization_id, Role.OWNER)
    admin = api.seed.person(tenant.organization_id, Role.ADMIN)
    member = api.seed.person(tenant.organization_id, Role.MEMBER)

    assert_error(set_role(api, admin.token, member, "owner"), 403, "FORBIDDEN")
    assert_error(set_role(api, admin.token, admin, "owner"), 403, "FORBIDDEN")
    assert_error(set_role(api, admin.token, second_owner, "admin"), 403, "FORBIDDEN")
    assert_error(remove(api, admin.token, second_owner), 403, "FORBIDDEN")
    with api.client(admin.token) as http:
        invited = http.post("/api/v1/invitations", json={"email": "x@example.com", "role": "owner"})
    assert_error(invited, 403, "FORBIDDEN")

    roles = {email: m["role"] for email, m in members(api, tenant.owner.token).items()}
    assert roles[member.email] == "member"
    assert roles[second_owner.email] == "owner"
    assert roles[admin.email] == "admin"


def test_a_member_can_read_members_but_not_manage_them(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    member = api.seed.person(tenant.organization_id, Role.MEMBER)
    other = api.seed.person(tenant.organization_id, Role.VIEWER)

    assert other.email in members(api, member.token)
    assert_error(set_role(api, member.token, other, "member"), 403, "FORBIDDEN")
    assert_error(remove(api, member.token, other), 403, "FORBIDDEN")
    with api.client(member.token) as http:
        invited = http.post("/api/v1/invitations", json={"email": "x@example.com"})
        listed = http.get("/api/v1/invitations")
    assert_error(invited, 403, "FORBIDDEN")
    assert listed.status_code == 200


@pytest.mark.parametrize("role", ["owner", "admin", "member", "viewer"])
def test_a_members_write_token_grants_no_role_beyond_its_own_scopes(
    api: ApiHarness, role: str
) -> None:
    tenant = api.seed.tenant()
    member = api.seed.person(tenant.organization_id, Role.MEMBER)
    narrow = api.seed.token_for(tenant.owner, tenant.organization_id, ["members:*"])

    promoted = set_role(api, narrow, member, role)
    with api.client(narrow) as http:
        invited = http.post("/api/v1/invitations", json={"email": "x@example.com", "role": role})

    for response in (invited, *([promoted] if role != "member" else [])):
        assert_error(response, 403, "TOKEN_SCOPE_INSUFFICIENT")
        assert response.json()["fields"][0]["path"] == "role"
    assert members(api, tenant.owner.token)[member.email]["role"] == "member"
    with api.client(tenant.owner.token) as http:
        assert http.get("/api/v1/invitations").json()["data"] == []


def test_a_token_holding_a_roles_scopes_grants_that_role(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    member = api.seed.person(tenant.organization_id, Role.MEMBER)
    everyday = [f"{r}:*" for r in ("monitors", "heartbeats", "incidents", "channels")]
    scopes = [*everyday, "status-pages:*", "maintenance:*", "tokens:*", "members:*", "events:read",
              "organization:read"]  # fmt: skip
    token = api.seed.token_for(tenant.owner, tenant.organization_id, scopes)

    assert set_role(api, token, member, "viewer").json()["role"] == "viewer"
    assert set_role(api, token, member, "member").json()["role"] == "member"
    assert invite(api, token, "y@example.com", "member")["role"] == "member"
    assert_error(set_role(api, token, member, "admin"), 403, "TOKEN_SCOPE_INSUFFICIENT")


# Invitations by code


def test_an_invitation_returns_its_code_once(api: ApiHarness) -> None:
    tenant = api.seed.tenant()

    created = invite(api, tenant.owner.token, "New.Person@Example.com", "admin")

    assert created["email"] == "new.person@example.com"
    assert created["role"] == "admin"
    assert len(created["code"]) >= 32
    with api.client(tenant.owner.token) as http:
        listed = http.get("/api/v1/invitations").json()["data"]
    assert [item["id"] for item in listed] == [created["id"]]
    assert "code" not in listed[0]
    assert created["code"] not in str(listed)


def test_a_new_user_accepts_signs_in_and_is_a_member_with_the_invited_role(
    api: ApiHarness,
) -> None:
    tenant = api.seed.tenant()
    code = invite(api, tenant.owner.token, "newcomer@example.com", "admin")["code"]

    accepted = accept(api, code, NEW_PASSWORD, name="New Comer")

    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["email"] == "newcomer@example.com"
    assert accepted.json()["organization_id"] == str(tenant.organization_id)
    assert accepted.json()["role"] == "admin"
    login = sign_in(api, "newcomer@example.com", NEW_PASSWORD)
    assert login.status_code == 200, login.text
    assert login.json()["organization_id"] == str(tenant.organization_id)
    listed = members(api, tenant.owner.token)["newcomer@example.com"]
    assert listed["role"] == "admin"
    assert listed["name"] == "New Comer"
    assert listed["user_id"] == accepted.json()["user_id"]
    with api.client(tenant.owner.token) as http:
        assert http.get("/api/v1/invitations").json()["data"] == []


def test_an_existing_user_accepts_with_their_own_password_and_joins_a_second_organization(
    api: ApiHarness,
) -> None:
    home, other = api.seed.tenant(), api.seed.tenant()
    person = api.seed.person(home.organization_id, Role.MEMBER)
    code = invite(api, other.owner.token, person.email, "viewer")["code"]

    wrong = accept(api, code, "not my password at all")
    assert_error(wrong, 401, "UNAUTHENTICATED")
    assert person.email not in members(api, other.owner.token)

    accepted = accept(api, code, PASSWORD)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["user_id"] == str(person.user_id)
    assert members(api, other.owner.token)[person.email]["role"] == "viewer"
    assert members(api, home.owner.token)[person.email]["role"] == "member"
    assert sign_in(api, person.email, NEW_PASSWORD).status_code == 401
    assert sign_in(api, person.email, PASSWORD).status_code == 200


def test_a_used_code_cannot_be_accepted_again(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    code = invite(api, tenant.owner.token, "once@example.com")["code"]
    assert accept(api, code).status_code == 200

    assert_error(accept(api, code), 404, "NOT_FOUND")


def test_a_revoked_invitation_is_gone_and_its_code_is_refused(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    created = invite(api, tenant.owner.token, "revoked@example.com")

    with api.client(tenant.owner.token) as http:
        revoked = http.delete(f"/api/v1/invitations/{created['id']}")
        again = http.delete(f"/api/v1/invitations/{created['id']}")
        listed = http.get("/api/v1/invitations").json()["data"]

    assert revoked.status_code == 204, revoked.text
    assert_error(again, 404, "NOT_FOUND")
    assert listed == []
    assert_error(accept(api, created["code"]), 404, "NOT_FOUND")


def test_an_invitation_of_another_organization_cannot_be_revoked(api: ApiHarness) -> None:
    ours, theirs = api.seed.tenant(), api.seed.tenant()
    created = invite(api, theirs.owner.token, "theirs@example.com")

    with api.client(ours.owner.token) as http:
        response = http.delete(f"/api/v1/invitations/{created['id']}")

    assert_error(response, 404, "NOT_FOUND")
    assert accept(api, created["code"]).status_code == 200


def test_an_unknown_code_is_not_found(api: ApiHarness) -> None:
    assert_error(accept(api, "no-such-invitation-code"), 404, "NOT_FOUND")


def test_an_expired_invitation_is_not_found(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    created = invite(api, tenant.owner.token, "late@example.com")
    _expire_invitations(api)

    assert_error(accept(api, created["code"]), 404, "NOT_FOUND")


def test_a_short_password_is_refused_naming_password_and_the_code_stays_usable(
    api: ApiHarness,
) -> None:
    tenant = api.seed.tenant()
    code = invite(api, tenant.owner.token, "short@example.com")["code"]

    response = accept(api, code, "123456789")

    assert_error(response, 400, "VALIDATION_FAILED")
    assert [field["path"] for field in response.json()["fields"]] == ["password"]
    assert "short@example.com" not in members(api, tenant.owner.token)
    assert accept(api, code, "1234567890").status_code == 200


def test_inviting_an_existing_member_is_a_conflict(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    member = api.seed.person(tenant.organization_id, Role.MEMBER)

    with api.client(tenant.owner.token) as http:
        response = http.post("/api/v1/invitations", json={"email": member.email.upper()})

    assert_error(response, 409, "CONFLICT")


# Invitations by email


def test_an_invitation_is_emailed_with_its_code(api: ApiHarness, mailbox: Mailbox) -> None:
    tenant = api.seed.tenant()

    created = invite(api, tenant.owner.token, "mailed@example.com", "viewer")

    assert created["emailed"] is True
    received = mailbox.to("mailed@example.com")
    assert len(received) == 1
    body = received[0].get_body(preferencelist=("plain",))
    assert body is not None
    content = body.get_content()
    assert created["code"] in content
    assert tenant.owner.email in content
    assert accept(api, created["code"]).status_code == 200


@pytest.mark.parametrize("smtp_configured", [False])
def test_without_smtp_settings_the_invitation_is_not_emailed(
    api: ApiHarness, mailbox: Mailbox
) -> None:
    tenant = api.seed.tenant()

    created = invite(api, tenant.owner.token, "unmailed@example.com")

    assert created["emailed"] is False
    assert mailbox.messages == []
    assert accept(api, created["code"]).status_code == 200


def _expire_invitations(api: ApiHarness) -> None:
    """Move every invitation's expiry into the past (the API has no clock to move)."""

    async def work() -> None:
        database = Database(api.settings.effective_database_url)
        try:
            async with unit_of_work(database) as session:
                await session.execute(
                    update(Invitation).values(expires_at=datetime(2000, 1, 1, tzinfo=UTC))
                )
        finally:
            await database.dispose()

    asyncio.run(work())
