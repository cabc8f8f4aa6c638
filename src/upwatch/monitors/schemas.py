"""Monitor request and response schemas.

`config` depends on `kind` (a discriminated union in the OpenAPI document). Clients need not
repeat `kind` inside `config`: it is copied from the monitor's `kind`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field, model_validator

from upwatch.monitors.policy import MonitorStatus
from upwatch.monitors.spikes import (
    DEFAULT_CONSECUTIVE,
    DEFAULT_MIN_DIFF_MS,
    DEFAULT_THRESHOLD_PERCENT,
)
from upwatch.probes.registry import config_union
from upwatch.schema import MAX_TAGS, Strict, Tag, Timestamp

#: The kinds in the registry; a test keeps this Literal (for the OpenAPI enum) in step.
Kind = Literal["http", "tcp", "ping", "dns", "tls"]


class ExecutionMode(StrEnum):
    BACKGROUND = "background"  # checked on its schedule
    ON_DEMAND = "on_demand"  # checked only by POST /monitors/{id}/run


DEFAULT_FAILURE_THRESHOLD = 2
DEFAULT_RECOVERY_THRESHOLD = 1


def _copy_kind(data: Any) -> Any:
    if isinstance(data, dict) and isinstance(data.get("config"), dict) and "kind" in data:
        config = data["config"]
        if "kind" not in config:
            data = {**data, "config": {**config, "kind": data["kind"]}}
    return data


class MonitorCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    kind: Kind
    target: str = Field(
        min_length=1,
        max_length=2048,
        description="http: a URL; tcp: host:port; tls: host[:port]; ping and dns: a host.",
    )
    interval_seconds: int = Field(
        60, le=86400, description="At least UPWATCH_MIN_INTERVAL_SECONDS."
    )
    timeout_ms: int | None = Field(
        None,
        ge=100,
        le=120_000,
        description="Below the interval. Default: 10000, or 3/4 of a shorter interval.",
    )
    tags: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS)
    group_id: UUID | None = None
    is_active: bool = True
    execution_mode: ExecutionMode = ExecutionMode.BACKGROUND
    concurrency: int = Field(
        1, ge=1, le=50, description="Requests per tick; above 1 needs a verified website."
    )
    failure_threshold: int = Field(
        DEFAULT_FAILURE_THRESHOLD, ge=1, le=100, description="Consecutive failures before down."
    )
    recovery_threshold: int = Field(
        DEFAULT_RECOVERY_THRESHOLD, ge=1, le=100, description="Consecutive successes before up."
    )
    degraded_above_ms: float | None = Field(
        None, gt=0, description="A success slower than this is `degraded`."
    )
    spike_threshold_percent: float = Field(
        DEFAULT_THRESHOLD_PERCENT,
        gt=0,
        le=100_000,
        description="A response this much above the baseline average is slow "
        "(once 10 checks make a baseline).",
    )
    spike_min_diff_ms: float = Field(
        DEFAULT_MIN_DIFF_MS,
        ge=0,
        le=600_000,
        description="...and at least this many ms above it (a percentage of a fast "
        "response is noise).",
    )
    spike_consecutive: int = Field(
        DEFAULT_CONSECUTIVE,
        ge=1,
        le=100,
        description="Slow checks in a row that make a spike (reported once per run).",
    )
    maintenance_mode: bool = Field(False, description="Record results, never alert.")
    channel_ids: list[UUID] = Field(
        default_factory=list, max_length=50, description="Channels on top of the defaults."
    )
    depends_on_id: UUID | None = Field(
        None, description="While this monitor is down, this one raises no incident or alert."
    )
    config: config_union | None = Field(None, description="Settings of the kind; defaults apply.")

    _kind_into_config = model_validator(mode="before")(_copy_kind)


class MonitorUpdate(Strict):
    """Fields to change; absent fields are kept."""

    name: str | None = Field(None, min_length=1, max_length=200)
    kind: Kind | None = None
    target: str | None = Field(None, min_length=1, max_length=2048)
    interval_seconds: int | None = Field(None, le=86400)
    timeout_ms: int | None = Field(None, ge=100, le=120_000)
    tags: list[Tag] | None = Field(None, max_length=MAX_TAGS)
    group_id: UUID | None = None
    is_active: bool | None = None
    execution_mode: ExecutionMode | None = None
    concurrency: int | None = Field(None, ge=1, le=50)
    failure_threshold: int | None = Field(None, ge=1, le=100)
    recovery_threshold: int | None = Field(None, ge=1, le=100)
    degraded_above_ms: float | None = Field(None, gt=0)
    spike_threshold_percent: float | None = Field(None, gt=0, le=100_000)
    spike_min_diff_ms: float | None = Field(None, ge=0, le=600_000)
    spike_consecutive: int | None = Field(None, ge=1, le=100)
    maintenance_mode: bool | None = None
    channel_ids: list[UUID] | None = Field(None, max_length=50)
    depends_on_id: UUID | None = Field(None, description="null clears it.")
    config: dict[str, Any] | None = Field(
        None,
        description="A JSON merge patch (RFC 7386) of the config: given keys replace, null "
        "removes a key (its default applies), absent keys and stored secrets are kept; "
        "`********` keeps a stored secret. The result is checked with the kind's schema. "
        "With a new `kind`, it patches that kind's defaults.",
    )


class Spike(BaseModel):
    datetime: Timestamp
    response_time_ms: float
    baseline_avg_ms: float
    diff_percent: float | None


class Certificate(BaseModel):
    subject: str
    issuer: str
    not_after: Timestamp
    days_left: int


class MonitorSummary(BaseModel):
    """The list projection: identity, schedule and live state, no config."""

    id: UUID
    name: str
    kind: str
    target: str
    interval_seconds: int
    tags: list[str]
    group_id: UUID | None
    website_id: UUID | None
    is_active: bool
    execution_mode: ExecutionMode
    maintenance_mode: bool
    status: MonitorStatus
    status_changed_at: Timestamp | None
    last_check_at: Timestamp | None
    last_response_time_ms: float | None
    last_status_code: int | None
    last_error_code: str | None
    last_error: str | None
    created_at: Timestamp


class MonitorDetail(MonitorSummary):
    timeout_ms: int
    concurrency: int
    failure_threshold: int
    recovery_threshold: int
    degraded_above_ms: float | None
    spike_threshold_percent: float
    spike_min_diff_ms: float
    spike_consecutive: int
    config: dict[str, Any] = Field(description="Secret values shown as ********.")
    has_secrets: bool
    next_check_at: Timestamp | None
    min_ms: float | None
    max_ms: float | None
    avg_ms: float | None
    last_spike: Spike | None
    certificate: Certificate | None
    updated_at: Timestamp
    channel_ids: list[UUID] = Field(default_factory=list, description="Chosen channels.")
    depends_on_id: UUID | None = None


class MonitorSecrets(BaseModel):
    id: UUID
    config: dict[str, Any] = Field(description="The config with its secret values.")
