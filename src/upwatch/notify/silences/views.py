"""The API view of a silence."""

from __future__ import annotations

from datetime import datetime

from upwatch.models import Silence
from upwatch.notify.schemas import SilenceView


def silence_view(silence: Silence, now: datetime) -> SilenceView:
    return SilenceView(
        id=silence.public_id, comment=silence.comment, starts_at=silence.starts_at,
        ends_at=silence.ends_at, active=silence.starts_at <= now < silence.ends_at,
        monitor_ids=silence.monitor_ids, heartbeat_ids=silence.heartbeat_ids, tags=silence.tags,
        alert_kinds=silence.alert_kinds, max_impact=silence.max_impact,
        created_by=silence.created_by, created_at=silence.created_at,
    )  # fmt: skip
