"""Queries of monitor groups."""

from __future__ import annotations

from collections.abc import Sequence

from upwatch.db.repository import Repository, count_by
from upwatch.models import Monitor, MonitorGroup


class GroupRepository(Repository[MonitorGroup]):
    model = MonitorGroup
    noun = "group"

    async def monitor_counts(self, groups: Sequence[MonitorGroup]) -> dict[int, int]:
        return await count_by(self.session, Monitor.group_id, [group.id for group in groups])
