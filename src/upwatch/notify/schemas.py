"""Request and response shapes of channels, webhook subscriptions, silences, maintenance
windows and alerts."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, AnyHttpUrl, BaseModel, Field, model_validator

from upwatch.channels.registry import ChannelKind
from upwatch.notify.kinds_alert import AlertKind
from upwatch.notify.subscriptions import EVENT_TYPES, is_known_pattern
from upwatch.schema import Strict, Tag, Timestamp

Impact = str  # validated against impact.IMPACTS by pattern below
IMPACT_PATTERN = r"^(none|minor|major|critical)$"


class ChannelCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    kind: ChannelKind
    config: dict[str, Any] = Field(description="The fields of `kind` (see docs/notifications.md).")
    events: list[AlertKind] = Field(
        default_factory=list, description="Alert kinds this channel takes; empty: all."
    )
    min_impact: str = Field("none", pattern=IMPACT_PATTERN, description="Lowest impact sent.")
    is_default: bool = Field(False, description="Used by every monitor and heartbeat.")
    is_enabled: bool = True
    remind_every_minutes: int | None = Field(None, ge=1, le=10080)
    escalate_after_minutes: int | None = Field(
        None, ge=1, le=10080, description="Only told once an incident is this old, unacknowledged."
    )


class ChannelPatch(Strict):
    name: str | None = Field(None, min_length=1, max_length=200)
    config: dict[str, Any] | None = Field(
        None,
        description="A JSON merge patch (RFC 7386) of the config: given fields replace, null "
        "removes an optional one, fields left out (secrets included) keep their value.",
    )
    events: list[AlertKind] | None = None
    min_impact: str | None = Field(None, pattern=IMPACT_PATTERN)
    is_default: bool | None = None
    is_enabled: bool | None = None
    remind_every_minutes: int | None = Field(None, ge=1, le=10080)
    escalate_after_minutes: int | None = Field(None, ge=1, le=10080)


class ChannelView(BaseModel):
    id: UUID
    name: str
    kind: ChannelKind
    config: dict[str, Any] = Field(description="The non-secret fields.")
    secrets_set: dict[str, bool] = Field(description="`has_<field>` for each secret field.")
    events: list[str]
    min_impact: str
    is_default: bool
    is_enabled: bool
    disabled_reason: str | None
    consecutive_failures: int
    remind_every_minutes: int | None
    escalate_after_minutes: int | None
    created_at: Timestamp
    updated_at: Timestamp


def _known_event_pattern(pattern: str) -> str:
    if not is_known_pattern(pattern):
        raise ValueError(f"unknown event type; one of {', '.join(EVENT_TYPES)}, `family.*` or `*`")
    return pattern


EventPattern = Annotated[str, Field(max_length=64), AfterValidator(_known_event_pattern)]
EVENT_TYPES_HELP = (
    "Event types (`incident.opened`), families (`incident.*`) or `*`. `*` and families leave "
    "out the per-check and per-ping firehose (`monitor.check_completed`, `heartbeat.pinged`), "
    "which must be named."
)


class WebhookCreate(Strict):
    url: AnyHttpUrl = Field(description="Receives each event as signed JSON (`POST`).")
    event_types: list[EventPattern] = Field(
        min_length=1, max_length=50, description=EVENT_TYPES_HELP
    )
    description: str | None = Field(None, max_length=500)
    is_enabled: bool = True


class WebhookPatch(Strict):
    url: AnyHttpUrl | None = None
    event_types: list[EventPattern] | None = Field(None, min_length=1, max_length=50)
    description: str | None = Field(None, max_length=500)
    is_enabled: bool | None = Field(None, description="`true` re-enables a disabled webhook.")


class WebhookView(BaseModel):
    id: UUID
    has_url: bool = Field(
        description="The URL is a secret, shown only by `GET /webhooks/{id}/secrets` (audited)."
    )
    url_host: str = Field(description="The host the events go to, e.g. `hooks.example.com`.")
    event_types: list[str]
    description: str | None
    is_enabled: bool
    disabled_reason: str | None
    consecutive_failures: int
    created_at: Timestamp
    updated_at: Timestamp


class WebhookSecrets(BaseModel):
    url: str = Field(description="The endpoint receiving the events.")


class AttemptView(BaseModel):
    attempt: int
    started_at: Timestamp
    duration_ms: float
    status_code: int | None
    outcome: str
    error: str | None


class DeliveryView(BaseModel):
    id: UUID = Field(description="The delivery id (`Upwatch-Delivery`).")
    channel_id: UUID | None
    webhook_id: UUID | None
    purpose: str
    event_type: str
    status: str
    attempts: int
    next_attempt_at: Timestamp | None
    last_error: str | None
    created_at: Timestamp
    sent_at: Timestamp | None
    log: list[AttemptView]


class TestResult(BaseModel):
    delivered: bool
    status: str
    status_code: int | None
    error: str | None
    duration_ms: float
    delivery: DeliveryView


class SilenceCreate(Strict):
    comment: str = Field(min_length=1, max_length=500)
    starts_at: Timestamp | None = Field(None, description="Default: now.")
    ends_at: Timestamp
    monitor_ids: list[UUID] = Field(default_factory=list, max_length=500)
    heartbeat_ids: list[UUID] = Field(default_factory=list, max_length=500)
    tags: list[Tag] = Field(default_factory=list, max_length=50)
    alert_kinds: list[AlertKind] = Field(default_factory=list)
    max_impact: str | None = Field(
        None, pattern=IMPACT_PATTERN, description="Silence alerts of this impact and below."
    )


class SilenceView(BaseModel):
    id: UUID
    comment: str
    starts_at: Timestamp
    ends_at: Timestamp
    active: bool
    monitor_ids: list[str]
    heartbeat_ids: list[str]
    tags: list[str]
    alert_kinds: list[str]
    max_impact: str | None
    created_by: str | None
    created_at: Timestamp


class WindowCreate(Strict):
    title: str = Field(min_length=1, max_length=200)
    description: str | None = Field(None, max_length=5000)
    starts_at: Timestamp = Field(description="One-off: the start. Recurring: none before.")
    ends_at: Timestamp | None = Field(None, description="One-off windows: the end.")
    cron: str | None = Field(None, max_length=200, description="Recurring: occurrence starts.")
    rrule: str | None = Field(None, max_length=500, description="Recurring (RFC 5545 RRULE).")
    duration_minutes: int | None = Field(None, ge=1, le=10080)
    timezone: str = Field("UTC", max_length=64)
    until: Timestamp | None = Field(None, description="Recurring: no occurrence after.")
    all_subjects: bool = Field(False, description="Every monitor and heartbeat.")
    monitor_ids: list[UUID] = Field(default_factory=list, max_length=1000)
    heartbeat_ids: list[UUID] = Field(default_factory=list, max_length=1000)
    tags: list[Tag] = Field(default_factory=list, max_length=50)
    group_ids: list[UUID] = Field(default_factory=list, max_length=100)
    notify: bool = Field(False, description="Tell the default channels at start and end.")

    @model_validator(mode="after")
    def _one_shape(self) -> WindowCreate:
        return self


class WindowView(BaseModel):
    id: UUID
    title: str
    description: str | None
    starts_at: Timestamp
    ends_at: Timestamp | None
    cron: str | None
    rrule: str | None
    duration_minutes: int | None
    timezone: str
    until: Timestamp | None
    all_subjects: bool
    monitor_ids: list[str]
    heartbeat_ids: list[str]
    tags: list[str]
    group_ids: list[str]
    notify: bool
    active: bool = Field(description="An occurrence is in progress now.")
    current_ends_at: Timestamp | None
    next_starts_at: Timestamp | None
    created_at: Timestamp
    updated_at: Timestamp


class AlertView(BaseModel):
    id: UUID
    kind: str
    impact: str
    title: str
    reason: str | None
    monitor_id: UUID | None
    heartbeat_id: UUID | None
    incident_id: UUID | None
    outcome: str = Field(description="notified, silenced, suppressed or unrouted.")
    suppressed_by: str | None
    created_at: Timestamp
    late: bool = Field(
        description="Recorded after a database outage: `created_at` is when it was observed, "
        "it went out later (see notifications.md)."
    )
    resolved_at: Timestamp | None
    deliveries: list[DeliveryView]
