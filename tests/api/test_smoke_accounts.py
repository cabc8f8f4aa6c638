"""The harness works: a seeded owner's token reads /api/v1/me on each backend."""

from __future__ import annotations

from tests.conftest import ApiHarness


def test_a_seeded_owner_token_reads_me(api: ApiHarness) -> None:
    tenant = api.seed.tenant()
    with api.client(tenant.owner.token) as http:
        response = http.get("/api/v1/me")
    assert response.status_code == 200, response.text
    assert response.json()["role"] == "owner"
    assert response.json()["organization"]["id"] == str(tenant.organization_id)
