"""The channel registry is the one list of kinds: the API's `kind` enum, the secret fields
the service hides and the notifier the dispatcher sends with all come from it."""

from __future__ import annotations

import pytest

from upwatch.channels.registry import NOTIFIERS, ChannelKind, split_config
from upwatch.notify.schemas import ChannelCreate


def test_the_apis_kind_enum_lists_exactly_the_registered_kinds_in_order() -> None:
    assert [str(kind) for kind in ChannelKind] == list(NOTIFIERS)
    schema = ChannelCreate.model_json_schema()
    assert schema["$defs"]["ChannelKind"]["enum"] == list(NOTIFIERS)


@pytest.mark.parametrize("kind", list(NOTIFIERS))
def test_each_kind_names_its_secret_and_destination_fields_among_its_configs_fields(
    kind: str,
) -> None:
    notifier = NOTIFIERS[kind]
    fields = set(notifier.config_model.model_fields)
    assert set(notifier.secret_fields) <= fields
    assert notifier.destination_field in fields


def test_secret_fields_are_split_from_the_shown_ones_and_unset_ones_are_left_out() -> None:
    config = {"topic": "ops", "server": "https://ntfy.sh/", "token": None, "priority": "high"}
    assert split_config("ntfy", config) == (
        {"topic": "ops", "server": "https://ntfy.sh/", "priority": "high"},
        {},
    )
    assert split_config("ntfy", {**config, "token": "tk"})[1] == {"token": "tk"}
