"""Fixtures for the unit of work tests: the engine tests' migrated database of each backend
with one organization (`world`), shared rather than copied."""

from __future__ import annotations

from tests.engine.conftest import tenant, world

__all__ = ["tenant", "world"]
