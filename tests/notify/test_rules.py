"""The routing rules and silence matching of `notify/alerting.py`, on plain values.

A channel takes an alert when it is enabled, is a default channel or one the subject
chose, its event filter (empty: everything) names the alert's kind and the alert's impact
reaches its minimum; escalation channels wait. A silence matches when every matcher it
has (subject ids, tags, alert kinds, maximum impact) does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from upwatch.models import NotificationChannel, Silence
from upwatch.notify.alerting import SubjectInfo, route, silence_matches, takes
from upwatch.notify.kinds_alert import AlertKind

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
MONITOR = SubjectInfo(
    kind="monitor",
    id=7,
    public_id=UUID("00000000-0000-7000-8000-000000000007"),
    organization_id=1,
    name="shop",
    target="https://shop.example.test/",
    tags=frozenset({"db", "eu"}),
    group_id=None,
    depends_on_id=None,
    channel_ids=frozenset({20}),
)
OTHER_ID = "00000000-0000-7000-8000-000000000099"


def channel(id: int = 10, **fields: Any) -> NotificationChannel:
    values: dict[str, Any] = {
        "organization_id": 1,
        "name": f"channel {id}",
        "kind": "webhook",
        "config": {},
        "events": [],
        "min_impact": "none",
        "is_default": True,
        "is_enabled": True,
        "escalate_after_minutes": None,
        **fields,
    }
    return NotificationChannel(id=id, **values)


def silence(**fields: Any) -> Silence:
    values: dict[str, Any] = {
        "organization_id": 1,
        "comment": "deploy",
        "starts_at": NOW - timedelta(hours=1),
        "ends_at": NOW + timedelta(hours=1),
        "monitor_ids": [],
        "heartbeat_ids": [],
        "tags": [],
        "alert_kinds": [],
        "max_impact": None,
        **fields,
    }
    return Silence(**values)


# --- routing ---------------------------------------------------------------------------


def test_a_default_channel_with_no_filters_takes_every_alert() -> None:
    assert takes(channel(), MONITOR, AlertKind.DOWN, "none")
    assert takes(channel(), MONITOR, AlertKind.CERTIFICATE_EXPIRING, "critical")


def test_a_channel_that_is_not_default_takes_only_the_subjects_that_chose_it() -> None:
    assert takes(channel(20, is_default=False), MONITOR, AlertKind.DOWN, "major")
    assert not takes(channel(21, is_default=False), MONITOR, AlertKind.DOWN, "major")


def test_an_alert_kind_outside_a_channels_event_filter_is_not_routed_to_it() -> None:
    only_down = channel(events=["down", "up"])
    assert takes(only_down, MONITOR, AlertKind.DOWN, "major")
    assert not takes(only_down, MONITOR, AlertKind.DEGRADED, "major")
    assert route([only_down], MONITOR, AlertKind.SPIKE, "major") == []


@pytest.mark.parametrize(
    ("impact", "taken"),
    [("none", False), ("minor", False), ("major", True), ("critical", True)],
)
def test_an_alert_below_a_channels_minimum_impact_is_not_routed_to_it(
    impact: str, taken: bool
) -> None:
    assert takes(channel(min_impact="major"), MONITOR, AlertKind.DOWN, impact) is taken


def test_a_disabled_channel_gets_nothing() -> None:
    disabled = channel(is_enabled=False)
    chosen_but_disabled = channel(20, is_default=False, is_enabled=False)
    for kind in AlertKind:
        assert route([disabled, chosen_but_disabled], MONITOR, kind, "critical") == []


def test_escalation_channels_wait_while_the_others_take_the_alert_at_once() -> None:
    now, later = channel(10), channel(11, escalate_after_minutes=15)
    assert takes(later, MONITOR, AlertKind.DOWN, "major")
    assert route([now, later], MONITOR, AlertKind.DOWN, "major") == [now]


# --- silences --------------------------------------------------------------------------


def test_a_silence_without_matchers_silences_everything() -> None:
    assert silence_matches(silence(), MONITOR, AlertKind.DOWN, "critical")


def test_a_silence_naming_the_subject_silences_it_and_no_other() -> None:
    assert silence_matches(
        silence(monitor_ids=[str(MONITOR.public_id)]), MONITOR, AlertKind.DOWN, "major"
    )
    assert not silence_matches(silence(monitor_ids=[OTHER_ID]), MONITOR, AlertKind.DOWN, "major")


def test_a_silence_naming_only_heartbeats_does_not_silence_a_monitor() -> None:
    # The same public id as a heartbeat's does not make it this monitor.
    only_heartbeats = silence(heartbeat_ids=[str(MONITOR.public_id)])
    assert not silence_matches(only_heartbeats, MONITOR, AlertKind.DOWN, "major")


def test_a_silence_by_tag_silences_subjects_with_one_of_its_tags() -> None:
    assert silence_matches(silence(tags=["eu", "us"]), MONITOR, AlertKind.DOWN, "major")
    assert not silence_matches(silence(tags=["us"]), MONITOR, AlertKind.DOWN, "major")


def test_every_matcher_of_a_silence_must_match() -> None:
    by_id_and_tag = silence(monitor_ids=[str(MONITOR.public_id)], tags=["us"])
    assert not silence_matches(by_id_and_tag, MONITOR, AlertKind.DOWN, "major")


def test_a_silence_for_some_alert_kinds_lets_the_others_through() -> None:
    only_spikes = silence(alert_kinds=["spike"])
    assert silence_matches(only_spikes, MONITOR, AlertKind.SPIKE, "minor")
    assert not silence_matches(only_spikes, MONITOR, AlertKind.DOWN, "minor")


@pytest.mark.parametrize(
    ("impact", "silenced"),
    [("none", True), ("minor", True), ("major", False), ("critical", False)],
)
def test_a_silence_with_a_maximum_impact_silences_that_impact_and_below(
    impact: str, silenced: bool
) -> None:
    up_to_minor = silence(max_impact="minor")
    assert silence_matches(up_to_minor, MONITOR, AlertKind.DOWN, impact) is silenced
