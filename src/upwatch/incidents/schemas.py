"""Incident response schemas."""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, Field

from upwatch.schema import Strict, Timestamp


class Impact(StrEnum):
    NONE = "none"
    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"


class IncidentState(StrEnum):
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"


class TimelineEntry(BaseModel):
    id: UUID
    kind: str = Field(description="opened, acknowledged, note or resolved.")
    state: IncidentState
    body: str
    public: bool
    author: str | None = Field(description="Who wrote it; null for Upwatch itself.")
    created_at: Timestamp


class IncidentSummary(BaseModel):
    id: UUID
    title: str
    impact: Impact
    state: IncidentState
    monitor_id: UUID | None = Field(description="The monitor whose failure opened it.")
    heartbeat_id: UUID | None = Field(description="The heartbeat whose failure opened it.")
    cause: str | None
    auto_created: bool
    auto_resolved: bool
    started_at: Timestamp
    acknowledged_at: Timestamp | None
    acknowledged_by: str | None
    resolved_at: Timestamp | None
    resolved_by: str | None
    duration_seconds: float | None = Field(description="Until resolved; null while open.")


class IncidentDetail(IncidentSummary):
    postmortem: str | None
    timeline: list[TimelineEntry]
    created_at: Timestamp
    updated_at: Timestamp


class OpenState(StrEnum):
    """The states an open incident moves through; `resolved` is reached by /resolve."""

    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"


class IncidentCreate(Strict):
    title: str = Field(min_length=1, max_length=200)
    impact: Impact = Impact.MINOR
    state: OpenState = OpenState.INVESTIGATING
    message: str | None = Field(
        None, max_length=10_000, description="The first timeline entry. Default: a short note."
    )
    public: bool = Field(True, description="Whether the first entry is for status pages.")
    started_at: Timestamp | None = Field(None, description="Default: now.")


class IncidentPatch(Strict):
    title: str | None = Field(None, min_length=1, max_length=200)
    impact: Impact | None = None
    state: OpenState | None = None


class UpdateCreate(Strict):
    body: str = Field(min_length=1, max_length=10_000)
    state: OpenState | None = Field(None, description="Move the incident to this state too.")
    public: bool = Field(False, description="Public entries show on status pages.")


class ResolveBody(Strict):
    message: str | None = Field(None, max_length=10_000)


class Postmortem(Strict):
    markdown: str = Field(max_length=100_000)
