"""Which monitors are in a maintenance window now, for the engine: a check of a covered
monitor is recorded as usual but its status is `maintenance` (no incident, no alert).

The windows and the monitors each covers (by id, tag, group or everything) are loaded
from the database at start, again whenever the API changes a window or a monitor in this
process, and every REFRESH_SECONDS for changes made by other processes.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import select

from upwatch.db.engine import Database
from upwatch.logs import get_logger
from upwatch.models import MaintenanceWindow, Monitor, MonitorGroup, MonitorTag
from upwatch.notify.calendar import Window

REFRESH_SECONDS = 15.0
log = get_logger("upwatch.engine")


@dataclass(frozen=True, slots=True)
class _Entry:
    window: Window
    monitor_ids: frozenset[int] | None  # None: every monitor of the organization


class MaintenanceCalendar:
    def __init__(self, database: Database) -> None:
        self._database = database
        self._entries: list[_Entry] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._refresh_periodically(), name="maintenance")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def covers(self, organization_id: int, monitor_id: int, at: datetime) -> bool:
        return any(
            entry.window.organization_id == organization_id
            and (entry.monitor_ids is None or monitor_id in entry.monitor_ids)
            and entry.window.occurrence_at(at) is not None
            for entry in self._entries
        )

    async def _refresh_periodically(self) -> None:
        while True:
            try:
                await self.refresh()
            except Exception as exc:
                log.warning("maintenance.refresh_failed", error=repr(exc))
            await asyncio.sleep(REFRESH_SECONDS)

    async def refresh(self) -> None:
        async with self._database.session() as session:
            rows = list((await session.execute(select(MaintenanceWindow))).scalars())
            entries = []
            for row in rows:
                if row.all_subjects:
                    entries.append(_Entry(Window.of(row), None))
                    continue
                ids: set[int] = set()
                public_ids = [UUID(value) for value in row.monitor_ids]
                groups = [UUID(value) for value in row.group_ids]
                org = Monitor.organization_id == row.organization_id
                if public_ids:
                    query = select(Monitor.id).where(org, Monitor.public_id.in_(public_ids))
                    ids.update((await session.execute(query)).scalars())
                if groups:
                    query = (
                        select(Monitor.id)
                        .join(MonitorGroup, MonitorGroup.id == Monitor.group_id)
                        .where(org, MonitorGroup.public_id.in_(groups))
                    )
                    ids.update((await session.execute(query)).scalars())
                if row.tags:
                    query = (
                        select(MonitorTag.monitor_id)
                        .join(Monitor, Monitor.id == MonitorTag.monitor_id)
                        .where(org, MonitorTag.tag.in_(row.tags))
                    )
                    ids.update((await session.execute(query)).scalars())
                entries.append(_Entry(Window.of(row), frozenset(ids)))
        self._entries = entries
