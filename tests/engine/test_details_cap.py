"""The size cap on stored details: small details are kept as they are, empty ones are not
stored, and a probe that saw too much (or something JSON cannot hold) costs neither the
write nor the check."""

from __future__ import annotations

from datetime import UTC, datetime

from upwatch.engine.ingest.details import MAX_DETAILS_BYTES, stored_details


def test_empty_details_are_not_stored() -> None:
    assert stored_details({}) is None


def test_details_under_the_cap_are_stored_as_the_probe_gave_them() -> None:
    seen = {"answers": ["10.0.0.1"], "ttl": 300, "nameserver": "127.0.0.1"}

    assert stored_details(seen) == seen


def test_details_over_the_cap_become_a_marker_with_their_size() -> None:
    reply = "x" * MAX_DETAILS_BYTES

    assert stored_details({"reply": reply}) == {"truncated": True, "bytes": len(reply) + 12}


def test_details_are_stored_as_plain_json_values() -> None:
    at = datetime(2026, 5, 4, 10, 59, 30, tzinfo=UTC)

    assert stored_details({"at": at, 7: "seven"}) == {
        "at": "2026-05-04T10:59:30+00:00",
        "7": "seven",
    }


def test_details_json_cannot_hold_become_a_marker() -> None:
    assert stored_details({"seen": {1, 2}}) == {"truncated": True, "bytes": None}
