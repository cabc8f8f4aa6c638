"""The audit log: who changed what, from where; filters, keyset pages and the CSV export."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.conftest import ApiHarness
from tests.support.accounts import PASSWORD, Person, Tenant
from upwatch.cli.main import app as cli
from upwatch.core.scopes import Role

Entry = dict[str, Any]
CSV_HEADER = (
    "id,created_at,action,resource_type,resource_id,actor_user_id,actor_email,actor_token_id,"
    "actor_token_prefix,source,client_ip,user_agent,request_id,changes"
)


def get_log(api: ApiHarness, bearer: str, **params: Any) -> Any:
    with api.client(bearer) as http:
        return http.get("/api/v1/audit-logs", params=params)


def entries(api: ApiHarness, tenant: Tenant, **params: Any) -> list[Entry]:
    response = get_log(api, tenant.owner.token, limit=100, **params)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def csv_rows(api: ApiHarness, tenant: Tenant, **params: Any) -> list[dict[str, str]]:
    """The export's rows by column, after checking it is CSV with the documented header."""
    response = get_log(api, tenant.owner.token, format="csv", **params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.text.splitlines()[0] == CSV_HEADER
    return list(csv.DictReader(io.StringIO(response.text)))


def the_one(found: list[Entry]) -> Entry:
    assert len(found) == 1, found
    return found[0]


def create_token(api: ApiHarness, person: Person, name: str, **headers: str) -> dict[str, Any]:
    with api.client(person.token, **headers) as http:
        # No scopes: all the minter may grant (`*` for an owner; an admin's role lacks some).
        response = http.post("/api/v1/me/tokens", json={"name": name})
    assert response.status_code == 201, response.text
    return response.json()


def invite(api: ApiHarness, person: Person, email: str, role: str = "member") -> dict[str, Any]:
    with api.client(person.token) as http:
        response = http.post("/api/v1/invitations", json={"email": email, "role": role})
    assert response.status_code == 201, response.text
    return response.json()


def accept(api: ApiHarness, code: str, password: str) -> dict[str, Any]:
    with api.client() as http:
        response = http.post(
            "/api/v1/invitations/accept", json={"code": code, "password": password}
        )
    assert response.status_code == 200, response.text
    return response.json()


def created(**values: Any) -> dict[str, Any]:
    return {name: {"from": None, "to": value} for name, value in values.items()}


def actor(person: Person, *, via_token: bool = True) -> dict[str, Any]:
    token = {"token_id": str(person.token_id), "token_prefix": person.token[:12]}
    return {"user_id": str(person.user_id), "email": person.email, "source": "api"} | (
        token if via_token else {"token_id": None, "token_prefix": None}
    )


def test_a_created_token_is_recorded_with_its_actor_origin_and_fields(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    headers = {"User-Agent": "audit-test/1.0", "X-Request-ID": "req-token-create-1"}
    token = create_token(api, tenant.owner, "ci deploys", **headers)

    entry = the_one(entries(api, tenant, resource=f"token:{token['id']}"))

    assert entry["action"] == "token.create"
    assert entry["resource"] == {"type": "token", "id": token["id"]}
    assert entry["actor"] == actor(tenant.owner)
    assert entry["client_ip"] == "127.0.0.1"
    assert entry["user_agent"] == "audit-test/1.0"
    assert entry["request_id"] == "req-token-create-1"
    assert entry["created_at"].endswith("Z")
    # Fields left empty (expires_at, daily_mutation_limit) did not change, so are not listed.
    assert entry["changes"] == created(name="ci deploys", prefix=token["prefix"], scopes=["*"])


def test_the_plaintext_of_a_created_token_appears_nowhere_in_the_log(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    plaintext = create_token(api, tenant.owner, "secret keeper")["token"]

    as_json = get_log(api, tenant.owner.token, limit=100).text
    as_csv = get_log(api, tenant.owner.token, format="csv").text

    assert plaintext[:12] in as_json
    assert plaintext not in as_json
    assert plaintext not in as_csv
    assert tenant.owner.token not in as_json
    assert tenant.owner.token not in as_csv


def test_a_role_change_records_the_role_from_and_to(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    member = api.seed.person(tenant.organization_id, Role.MEMBER)
    with api.client(tenant.owner.token) as http:
        response = http.patch(f"/api/v1/members/{member.user_id}", json={"role": "admin"})
    assert response.status_code == 200, response.text

    entry = the_one(entries(api, tenant, action="member.update"))

    assert entry["resource"] == {"type": "member", "id": str(member.user_id)}
    assert entry["actor"] == actor(tenant.owner)
    assert entry["changes"] == {"role": {"from": "member", "to": "admin"}}


def test_deletions_keep_a_snapshot_of_what_was_deleted(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    viewer = api.seed.person(tenant.organization_id, Role.VIEWER)
    token = create_token(api, tenant.owner, "short lived")
    with api.client(tenant.owner.token) as http:
        assert http.delete(f"/api/v1/me/tokens/{token['id']}").status_code == 204
        assert http.delete(f"/api/v1/members/{viewer.user_id}").status_code == 204

    revoked = the_one(entries(api, tenant, action="token.revoke"))
    removed = the_one(entries(api, tenant, action="member.remove"))

    assert revoked["resource"] == {"type": "token", "id": token["id"]}
    assert revoked["changes"] == {"deleted": {"name": "short lived", "prefix": token["prefix"]}}
    assert removed["resource"] == {"type": "member", "id": str(viewer.user_id)}
    assert removed["changes"] == {"deleted": {"email": viewer.email, "role": "viewer"}}
    assert revoked["actor"] == removed["actor"] == actor(tenant.owner)


def test_a_refused_change_leaves_no_entry(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    with api.client(tenant.owner.token) as http:
        refused = http.patch(f"/api/v1/members/{tenant.owner.user_id}", json={"role": "member"})
    assert refused.json()["code"] == "SOLE_OWNER"

    assert entries(api, tenant, action="member.update") == []


def test_invitations_created_and_revoked_are_recorded(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    invitation = invite(api, tenant.owner, "guest@example.com", "viewer")
    with api.client(tenant.owner.token) as http:
        assert http.delete(f"/api/v1/invitations/{invitation['id']}").status_code == 204

    made = the_one(entries(api, tenant, action="invitation.create"))
    withdrawn = the_one(entries(api, tenant, action="invitation.revoke"))

    for entry in (made, withdrawn):
        assert entry["resource"] == {"type": "invitation", "id": invitation["id"]}
        assert entry["actor"] == actor(tenant.owner)
    assert made["changes"] == created(email="guest@example.com", role="viewer")
    assert withdrawn["changes"] == {"deleted": {"email": "guest@example.com", "role": "viewer"}}
    assert invitation["code"] not in json.dumps([made, withdrawn])


def test_a_new_user_accepting_an_invitation_is_recorded_as_a_member_added_by_them(
    api: ApiHarness,
) -> None:
    tenant = api.seed.tenant()
    code = invite(api, tenant.owner, "joiner@example.com")["code"]
    joined = accept(api, code, "a long enough password")

    entry = the_one(
        entries(api, tenant, action="member.add", resource=f"member:{joined['user_id']}")
    )

    assert entry["changes"] == created(email="joiner@example.com", role="member")
    # The invitee acted (they sent the code), so the entry names them, as it does when an
    # existing user accepts.
    assert entry["actor"] == {
        "user_id": joined["user_id"],
        "email": "joiner@example.com",
        "token_id": None,
        "token_prefix": None,
        "source": "api",
    }
    assert code not in json.dumps(entry)


def test_an_existing_user_accepting_an_invitation_is_recorded_as_a_member_added_by_them(
    api: ApiHarness,
) -> None:
    home, tenant = api.seed.tenant(), api.seed.tenant()
    person = api.seed.person(home.organization_id, Role.MEMBER)
    accept(api, invite(api, tenant.owner, person.email, "admin")["code"], PASSWORD)

    entry = the_one(entries(api, tenant, action="member.add", resource=f"member:{person.user_id}"))

    assert entry["changes"]["role"] == {"from": None, "to": "admin"}
    assert entry["actor"] == actor(person, via_token=False)


def test_changes_made_by_the_system_are_recorded_with_the_system_source(api: ApiHarness) -> None:
    tenant = api.seed.tenant()

    founding = the_one(entries(api, tenant, action="organization.create"))

    assert founding["resource"] == {"type": "organization", "id": str(tenant.organization_id)}
    assert founding["actor"]["source"] == "system"
    assert founding["actor"]["user_id"] is None
    assert founding["changes"] == created(name=tenant.name)


def test_a_token_minted_with_the_cli_is_recorded_with_the_cli_source(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    arguments = ["token", "create", "--name", "from cli", "--user", tenant.owner.email]
    result = CliRunner().invoke(
        cli,
        [*arguments, "--org", tenant.name],
        env={"UPWATCH_DATABASE_URL": api.settings.effective_database_url},
    )
    assert result.exit_code == 0, result.output
    plaintext = result.stdout.strip()

    made = entries(api, tenant, action="token.create", actor=str(tenant.owner.user_id))
    entry = the_one([e for e in made if e["changes"]["name"]["to"] == "from cli"])

    assert entry["actor"] == actor(tenant.owner, via_token=False) | {"source": "cli"}
    assert plaintext not in get_log(api, tenant.owner.token, format="csv").text


def test_filters_select_by_action_actor_token_and_resource(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    admin = api.seed.person(tenant.organization_id, Role.ADMIN)
    second = create_token(api, tenant.owner, "second")
    with api.client(second["token"]) as http:
        by_second = http.post("/api/v1/me/tokens", json={"name": "third"}).json()
    by_admin = create_token(api, admin, "admin's")
    invitation = invite(api, admin, "someone@example.com")

    def found(**params: str) -> list[tuple[str, str | None]]:
        return [(e["action"], e["resource"]["id"]) for e in entries(api, tenant, **params)]

    assert found(token=str(admin.token_id)) == [
        ("invitation.create", invitation["id"]),
        ("token.create", by_admin["id"]),
    ]
    assert found(token=second["id"]) == [("token.create", by_second["id"])]
    assert found(action="invitation.create") == [("invitation.create", invitation["id"])]
    assert found(resource=f"token:{by_admin['id']}") == [("token.create", by_admin["id"])]
    by_actor = entries(api, tenant, actor=str(admin.user_id))
    assert {e["actor"]["user_id"] for e in by_actor} == {str(admin.user_id)}
    # The admin's seeded token (made by the system on their behalf) and the two above.
    assert len(by_actor) == 3
    tokens = entries(api, tenant, resource="token")
    assert {e["resource"]["type"] for e in tokens} == {"token"}
    assert {by_second["id"], by_admin["id"], second["id"]} <= {e["resource"]["id"] for e in tokens}


def test_from_is_inclusive_and_to_is_exclusive(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    for number in range(3):
        create_token(api, tenant.owner, f"token {number}")
    everything = entries(api, tenant)
    boundary = next(e for e in everything if e["changes"].get("name", {}).get("to") == "token 1")
    moment = boundary["created_at"]

    since = entries(api, tenant, **{"from": moment})
    until = entries(api, tenant, to=moment)

    # Timestamps are shown truncated to milliseconds, so they decide exactly which side of a
    # boundary taken from one of them an entry falls.
    assert [e["id"] for e in since] == [e["id"] for e in everything if e["created_at"] >= moment]
    assert [e["id"] for e in until] == [e["id"] for e in everything if e["created_at"] < moment]
    assert boundary in since
    assert boundary not in until
    in_cest = datetime.fromisoformat(moment).astimezone(timezone(timedelta(hours=2)))
    assert entries(api, tenant, **{"from": in_cest.isoformat()}) == since
    assert entries(api, tenant, **{"from": "2999-01-01T00:00:00Z"}) == []


def test_entries_come_newest_first(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    names = [f"token {number}" for number in range(4)]
    for name in names:
        create_token(api, tenant.owner, name)

    found = entries(api, tenant, action="token.create", actor=str(tenant.owner.user_id))
    made_here = [e["changes"]["name"]["to"] for e in found if e["actor"]["source"] == "api"]

    assert made_here == list(reversed(names))
    stamps = [e["created_at"] for e in entries(api, tenant)]
    assert stamps == sorted(stamps, reverse=True)


def test_pages_follow_the_cursor_without_gaps_or_duplicates(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    for number in range(6):
        create_token(api, tenant.owner, f"paged {number}")
    expected = [e["id"] for e in entries(api, tenant)]
    assert len(expected) > 7

    seen: list[str] = []
    cursor: str | None = ""
    while cursor is not None:
        response = get_log(
            api, tenant.owner.token, limit=3, **({"cursor": cursor} if cursor else {})
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["pagination"]["limit"] == 3
        assert len(body["data"]) <= 3
        seen += [e["id"] for e in body["data"]]
        cursor = body["pagination"]["next_cursor"]

    assert seen == expected


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "eyJhZnRlciI6IDF9"}, "cursor"),  # {"after": 1}: JSON, but no id in it
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"actor": "not-a-uuid"}, "actor"),
        ({"from": "2026-01-01T00:00:00"}, "from"),
        ({"to": "2026-01-01T00:00:00"}, "to"),
    ],
)
def test_bad_paging_values_filters_and_times_without_a_zone_are_refused_naming_them(
    api: ApiHarness, params: dict[str, Any], path: str
) -> None:
    tenant = api.seed.tenant()

    response = get_log(api, tenant.owner.token, **params)

    assert response.status_code == 400, response.text
    assert response.json()["code"] == "VALIDATION_FAILED"
    assert [field["path"] for field in response.json()["fields"]] == [path]


def test_the_csv_export_has_a_header_and_one_row_per_entry_honouring_filters(
    api: ApiHarness,
) -> None:
    tenant = api.seed.tenant()
    invite(api, tenant.owner, "filtered@example.com")
    created = create_token(api, tenant.owner, "exported", **{"X-Request-ID": "csv-1"})

    rows = csv_rows(api, tenant)

    assert [row["id"] for row in rows] == [e["id"] for e in entries(api, tenant)]
    row = rows[0]
    assert row["action"] == "token.create"
    assert row["resource_id"] == created["id"]
    assert row["actor_email"] == tenant.owner.email
    assert row["actor_token_id"] == str(tenant.owner.token_id)
    assert row["source"] == "api"
    assert row["request_id"] == "csv-1"
    assert row["created_at"].endswith("Z")
    assert json.loads(row["changes"])["name"] == {"from": None, "to": "exported"}
    filtered = csv_rows(api, tenant, action="invitation.create")
    assert [row["action"] for row in filtered] == ["invitation.create"]


def test_csv_cells_that_a_spreadsheet_would_run_as_formulas_are_made_inert(
    api: ApiHarness,
) -> None:
    tenant = api.seed.tenant()
    create_token(api, tenant.owner, "formula", **{"User-Agent": '=HYPERLINK("http://x")'})

    row = csv_rows(api, tenant, action="token.create")[0]

    assert row["user_agent"] == '\'=HYPERLINK("http://x")'


@pytest.mark.parametrize(
    ("role", "status"), [(Role.ADMIN, 200), (Role.MEMBER, 403), (Role.VIEWER, 403)]
)
def test_only_owners_and_admins_can_read_the_audit_log(
    api: ApiHarness, role: Role, status: int
) -> None:
    tenant = api.seed.tenant()
    person = api.seed.person(tenant.organization_id, role)

    for params in ({}, {"format": "csv"}):
        response = get_log(api, person.token, **params)
        assert response.status_code == status, response.text
        if status == 403:
            assert response.json()["code"] == "FORBIDDEN"


def test_a_token_without_the_audit_scope_cannot_read_the_log(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    narrow = api.seed.person(tenant.organization_id, Role.OWNER, scopes=["members:read"])

    response = get_log(api, narrow.token)

    assert response.status_code == 403
    assert response.json()["code"] == "TOKEN_SCOPE_INSUFFICIENT"


def test_another_organizations_entries_never_appear(api: ApiHarness) -> None:
    ours, theirs = api.seed.tenant(), api.seed.tenant()
    hidden = create_token(api, theirs.owner, "theirs")

    ids = {e["resource"]["id"] for e in entries(api, ours)}
    exported = get_log(api, ours.owner.token, format="csv").text

    assert hidden["id"] not in ids
    assert hidden["id"] not in exported
    assert theirs.owner.email not in exported
    assert entries(api, ours, token=hidden["id"]) == []
