"""Queries of silences."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement

from upwatch.db.repository import Repository
from upwatch.models import Silence


class SilenceRepository(Repository[Silence]):
    model = Silence
    noun = "silence"

    @staticmethod
    def in_force(active: bool | None, now: datetime) -> list[ColumnElement[bool]]:
        """The filter of `?active=`: true, in force at `now`; false, not; None, all."""
        if active is None:
            return []
        if active:
            return [Silence.starts_at <= now, Silence.ends_at > now]
        return [(Silence.starts_at > now) | (Silence.ends_at <= now)]
