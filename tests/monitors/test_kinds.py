"""The monitor schema offers exactly the kinds the probe registry has."""

from __future__ import annotations

from typing import get_args

from upwatch.monitors.schemas import Kind
from upwatch.probes.registry import PROBES


def test_the_kind_literal_matches_the_registry() -> None:
    assert set(get_args(Kind)) == set(PROBES)


def test_every_kind_names_its_secret_fields() -> None:
    for probe in PROBES.values():
        assert isinstance(probe.config_model.secret_paths, tuple)  # type: ignore[attr-defined]
