"""What every collection of the API does alike: pages of 25 by default, and a create that
answers 201 with the new resource's URL in `Location`."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

LISTS = [
    "/api/v1/monitors", "/api/v1/heartbeats", "/api/v1/incidents", "/api/v1/alerts",
    "/api/v1/alerts/active", "/api/v1/channels", "/api/v1/webhooks", "/api/v1/silences",
    "/api/v1/maintenance-windows", "/api/v1/monitor-groups", "/api/v1/websites",
    "/api/v1/audit-logs", "/api/v1/members", "/api/v1/invitations", "/api/v1/me/tokens",
]  # fmt: skip
LATER = "2099-01-01T00:00:00Z"
GROUPS = "/api/v1/monitor-groups"


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


@pytest.mark.parametrize("url", LISTS)
def test_every_list_answers_pages_of_25_unless_asked_otherwise(
    http: httpx.Client, url: str
) -> None:
    assert ok(http.get(url))["pagination"]["limit"] == 25


@pytest.mark.parametrize(
    ("collection", "body"),
    [
        (GROUPS, {"name": "Payments"}),
        ("/api/v1/websites", {"domain": "example.com"}),
        ("/api/v1/silences", {"comment": "Deploying", "ends_at": LATER, "tags": ["web"]}),
        ("/api/v1/maintenance-windows",
         {"title": "Upgrade", "starts_at": "2098-01-01T00:00:00Z", "ends_at": LATER,
          "all_subjects": True}),
    ],
)  # fmt: skip
def test_a_create_answers_the_url_of_what_it_made_and_that_url_reads_it(
    http: httpx.Client, collection: str, body: dict[str, Any]
) -> None:
    response = http.post(collection, json=body)
    created = ok(response, 201)

    assert response.headers["Location"] == f"{collection}/{created['id']}"
    assert ok(http.get(response.headers["Location"]))["id"] == created["id"]


def test_an_invitations_location_is_where_it_is_withdrawn(http: httpx.Client) -> None:
    response = http.post("/api/v1/invitations", json={"email": "ada@example.com", "role": "member"})
    invitation = ok(response, 201)

    assert response.headers["Location"] == f"/api/v1/invitations/{invitation['id']}"
    ok(http.delete(response.headers["Location"]), 204)
    assert ok(http.get("/api/v1/invitations"))["data"] == []


def test_a_timeline_entrys_location_is_its_incident(http: httpx.Client) -> None:
    incident = ok(http.post("/api/v1/incidents", json={"title": "Slow checkout"}), 201)
    url = f"/api/v1/incidents/{incident['id']}"

    response = http.post(f"{url}/updates", json={"body": "Found the slow query."})

    ok(response, 201)
    assert response.headers["Location"] == url


def test_the_openapi_document_declares_location_on_every_single_create(
    http: httpx.Client,
) -> None:
    document = ok(http.get("/openapi.json"))
    creates = [
        (path, operation["responses"]["201"])
        for path, operations in document["paths"].items()
        for operation in operations.values()
        if "201" in operation["responses"] and not path.endswith("/bulk")
    ]

    assert len(creates) >= 12  # every create but the bulk one
    assert [path for path, created in creates if "Location" not in created.get("headers", {})] == []


def test_a_group_page_counts_the_monitors_of_each_group(http: httpx.Client) -> None:
    payments, search = (
        ok(http.post(GROUPS, json={"name": name}), 201) for name in ("Payments", "Search")
    )
    for n in range(3):
        monitor = {
            "name": f"Checkout {n}", "kind": "http", "target": "http://127.0.0.1:9/",
            "execution_mode": "on_demand", "interval_seconds": 60, "timeout_ms": 2000,
            "group_id": payments["id"],
        }  # fmt: skip
        ok(http.post("/api/v1/monitors", json=monitor), 201)

    page = ok(http.get(GROUPS))["data"]

    assert [(group["name"], group["monitors"]) for group in page] == [
        ("Payments", 3),
        ("Search", 0),
    ]
    assert ok(http.get(f"{GROUPS}/{search['id']}"))["monitors"] == 0


def test_a_group_name_is_unique_in_its_organization(http: httpx.Client) -> None:
    first = ok(http.post(GROUPS, json={"name": "Payments"}), 201)
    other = ok(http.post(GROUPS, json={"name": "Search"}), 201)

    assert http.post(GROUPS, json={"name": "Payments"}).json()["code"] == "CONFLICT"
    renamed = http.patch(f"{GROUPS}/{other['id']}", json={"name": "Payments"})
    assert renamed.status_code == 409
    assert ok(http.patch(f"{GROUPS}/{first['id']}", json={"name": "Billing"}))["name"] == "Billing"


def test_deleting_a_group_keeps_its_monitors_ungrouped(http: httpx.Client) -> None:
    group = ok(http.post(GROUPS, json={"name": "Payments"}), 201)
    monitor = {
        "name": "Checkout", "kind": "http", "target": "http://127.0.0.1:9/",
        "execution_mode": "on_demand", "interval_seconds": 60, "timeout_ms": 2000,
        "group_id": group["id"],
    }  # fmt: skip
    created = ok(http.post("/api/v1/monitors", json=monitor), 201)

    ok(http.delete(f"{GROUPS}/{group['id']}"), 204)

    assert ok(http.get(f"{GROUPS}/{group['id']}"), 404)["code"] == "NOT_FOUND"
    assert ok(http.get(f"/api/v1/monitors/{created['id']}"))["group_id"] is None
