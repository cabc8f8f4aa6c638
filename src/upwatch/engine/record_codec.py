"""Check records as JSON lines, for the writer's spool: every value of a record is JSON but
its datetimes (tagged), its events and its alert triggers (their fields)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

import orjson

from upwatch.engine.live import CheckRecord
from upwatch.events import Event
from upwatch.notify.alerting import Trigger
from upwatch.notify.kinds_alert import AlertKind

DATETIME = "$datetime"


def encode(record: CheckRecord) -> bytes:
    """One line (ending in a newline)."""
    value = {
        "monitor_id": record.monitor_id,
        "checked_at": record.checked_at,
        "ok": record.ok,
        "latency_ms": record.latency_ms,
        "maintenance": record.maintenance,
        "result_row": record.result_row,
        "state_values": record.state_values,
        "state_change": record.state_change,
        "events": [asdict(event) for event in record.events],
        "alerts": [asdict(trigger) for trigger in record.alerts],
    }
    return orjson.dumps(_tagged(value)) + b"\n"


def decode(line: bytes) -> CheckRecord:
    value = _untagged(orjson.loads(line))
    alerts = []
    for trigger in value.pop("alerts"):
        kind = trigger.pop("kind")
        alerts.append(Trigger(kind=None if kind is None else AlertKind(kind), **trigger))
    events = [Event(**event) for event in value.pop("events")]
    return CheckRecord(**value, events=events, alerts=alerts)


def _tagged(value: Any) -> Any:
    """orjson writes datetimes as strings, which would read back as strings: tag them."""
    if isinstance(value, datetime):
        return {DATETIME: value.isoformat()}
    if isinstance(value, dict):
        return {key: _tagged(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_tagged(item) for item in value]
    return value


def _untagged(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and DATETIME in value:
            return datetime.fromisoformat(value[DATETIME])
        return {key: _untagged(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_untagged(item) for item in value]
    return value
