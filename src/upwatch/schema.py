"""Pydantic building blocks shared by every slice's request and response schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from upwatch.core.clock import isoformat_z

#: ISO 8601, UTC, with `Z` and milliseconds: the one timestamp format of the API.
Timestamp = Annotated[datetime, PlainSerializer(isoformat_z, return_type=str)]

#: Deliberately loose: self-hosted teams use internal domains (ops@corp.lan) that strict
#: validators reject. Whether mail arrives is the real test.
EmailAddress = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$", max_length=320)]

#: Labels on monitors and heartbeats, for filters (`?tag=a&tag=b`) and routing.
Tag = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:/@+-]+$")]
MAX_TAGS = 20


class Strict(BaseModel):
    """Request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
