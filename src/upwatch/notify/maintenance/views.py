"""The API view of a maintenance window: its definition and where it stands now."""

from __future__ import annotations

from datetime import datetime

from upwatch.models import MaintenanceWindow
from upwatch.notify.calendar import Window
from upwatch.notify.schemas import WindowView


def window_view(row: MaintenanceWindow, now: datetime) -> WindowView:
    window = Window.of(row)
    current = window.occurrence_at(now)
    return WindowView(
        id=row.public_id, title=row.title, description=row.description,
        starts_at=row.starts_at, ends_at=row.ends_at, cron=row.cron, rrule=row.rrule,
        duration_minutes=row.duration_minutes, timezone=row.timezone, until=row.until,
        all_subjects=row.all_subjects, monitor_ids=row.monitor_ids,
        heartbeat_ids=row.heartbeat_ids, tags=row.tags, group_ids=row.group_ids,
        notify=row.notify, active=current is not None,
        current_ends_at=None if current is None else current[1],
        next_starts_at=window.next_start_after(now),
        created_at=row.created_at, updated_at=row.updated_at,
    )  # fmt: skip
