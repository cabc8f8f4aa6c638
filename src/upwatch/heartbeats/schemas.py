"""Heartbeat request and response schemas.

A schedule is either `period_seconds` or `cron` (+ `timezone`), with `grace_seconds` on top.
Neither given: a period of one day and an hour of grace, like a nightly job.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field, model_validator

from upwatch.heartbeats.machine import HeartbeatStatus, PingKind, RunOutcome
from upwatch.schema import MAX_TAGS, Strict, Tag, Timestamp

MIN_PERIOD_SECONDS = 60
MAX_PERIOD_SECONDS = 31 * 86400
MAX_GRACE_SECONDS = 31 * 86400
DEFAULT_PERIOD_SECONDS = 86400
DEFAULT_GRACE_SECONDS = 3600
SLUG_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,99}$"

Slug = Annotated[
    str, Field(pattern=SLUG_PATTERN, description="Lowercase letters, digits, - and _.")
]
Period = Annotated[int, Field(ge=MIN_PERIOD_SECONDS, le=MAX_PERIOD_SECONDS)]
Grace = Annotated[int, Field(ge=0, le=MAX_GRACE_SECONDS)]
Runtime = Annotated[int, Field(ge=1, le=MAX_PERIOD_SECONDS)]
Cron = Annotated[
    str,
    Field(
        min_length=9,
        max_length=200,
        description="Five fields (minute hour day month weekday), read in `timezone`.",
    ),
]
TimeZone = Annotated[str, Field(min_length=1, max_length=64, description="An IANA name.")]


class HeartbeatCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    slug: Slug | None = Field(
        None, description="For /ping/{ping_key}/{slug}. Default: made from the name if free."
    )
    tags: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS)
    period_seconds: Period | None = Field(
        None, description="Expected time between pings (60 s to 31 days)."
    )
    cron: Cron | None = None
    timezone: TimeZone = "UTC"
    grace_seconds: Grace = Field(
        DEFAULT_GRACE_SECONDS, description="How late a ping may be before it is missed."
    )
    max_runtime_seconds: Runtime | None = Field(
        None, description="A started run must end within this."
    )
    min_runtime_seconds: Runtime | None = Field(
        None, description="A run that ends faster than this is suspicious: down."
    )
    is_active: bool = True
    channel_ids: list[UUID] = Field(
        default_factory=list, max_length=50, description="Channels on top of the defaults."
    )

    @model_validator(mode="after")
    def _default_schedule(self) -> HeartbeatCreate:
        if self.period_seconds is None and self.cron is None:
            self.period_seconds = DEFAULT_PERIOD_SECONDS
        return self


class HeartbeatUpdate(Strict):
    """Fields to change. Setting `cron` clears `period_seconds` and the other way round;
    `null` clears `slug`, `max_runtime_seconds` and `min_runtime_seconds`."""

    name: str | None = Field(None, min_length=1, max_length=200)
    slug: Slug | None = None
    tags: list[Tag] | None = Field(None, max_length=MAX_TAGS)
    period_seconds: Period | None = None
    cron: Cron | None = None
    timezone: TimeZone | None = None
    grace_seconds: Grace | None = None
    max_runtime_seconds: Runtime | None = None
    min_runtime_seconds: Runtime | None = None
    is_active: bool | None = None
    channel_ids: list[UUID] | None = Field(None, max_length=50)


class HeartbeatSummary(BaseModel):
    id: UUID
    name: str
    slug: str | None
    tags: list[str]
    period_seconds: int | None
    cron: str | None
    timezone: str
    grace_seconds: int
    is_active: bool
    status: HeartbeatStatus
    reason: str | None = Field(description="Why it is down (or paused); null when up.")
    status_changed_at: Timestamp | None
    last_ping_at: Timestamp | None
    deadline_at: Timestamp | None = Field(
        description="A miss is declared at this time unless a ping comes first."
    )
    running: bool = Field(description="A run was started and has not ended.")
    created_at: Timestamp


class HeartbeatDetail(HeartbeatSummary):
    max_runtime_seconds: int | None
    min_runtime_seconds: int | None
    next_expected_at: Timestamp | None = Field(
        description="When the next ping is due (without grace), from the last ping."
    )
    last_ping_kind: PingKind | None
    last_exit_code: int | None
    last_duration_ms: float | None
    pings: int
    ping_url: str = Field(description="Ping this URL (GET, POST or HEAD); see docs/heartbeats.md.")
    updated_at: Timestamp
    channel_ids: list[UUID] = Field(default_factory=list, description="Chosen channels.")


class HeartbeatSecrets(BaseModel):
    ping_token: str
    ping_url: str


class PingKeyRead(BaseModel):
    ping_key: str
    created_at: Timestamp


class PingRead(BaseModel):
    received_at: Timestamp
    kind: PingKind
    exit_code: int | None
    rid: str | None
    method: str
    source_ip: str | None
    user_agent: str | None
    duration_ms: float | None
    body_size: int | None = Field(description="Characters stored (null without a body).")
    body_truncated: bool
    body: str | None = Field(None, description="Only with ?include_body=true.")


class RunRead(BaseModel):
    rid: str | None
    started_at: Timestamp | None
    ended_at: Timestamp | None
    duration_ms: float | None
    outcome: RunOutcome
    exit_code: int | None


class HeartbeatStats(BaseModel):
    since: Timestamp
    until: Timestamp
    uptime_percent: float | None = Field(
        description="Share of the watched time not down; null when nothing was watched."
    )
    downtime_seconds: float
    pings: int
    runs: int
    successes: int
    failures: int
    timeouts: int
    in_progress: int
    min_duration_ms: float | None
    max_duration_ms: float | None
    avg_duration_ms: float | None
    p50_duration_ms: float | None
    p95_duration_ms: float | None


class DailyHeartbeatUptime(BaseModel):
    date: str
    uptime_percent: float | None
    downtime_seconds: float
    runs: int
    failures: int
