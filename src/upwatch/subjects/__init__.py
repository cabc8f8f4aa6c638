"""Subjects: the watched things that can be up or down and alert.

Deliberately tiny for now: a kind and a typed reference, so the ingest contract can say what
an observation is about without an `int` that means "a monitor id" by convention. It grows
into the registry of subject kinds (containers, hosts, probes, ...) later; other tables do
not use it yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class SubjectKind(StrEnum):
    MONITOR = "monitor"
    HEARTBEAT = "heartbeat"


@dataclass(frozen=True, slots=True)
class SubjectRef:
    """One watched thing: its kind and its internal (integer) id."""

    kind: SubjectKind
    id: int
