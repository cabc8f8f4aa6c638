"""Impact (severity) order, shared by routing rules, silences and incidents."""

from __future__ import annotations

ORDER = {"none": 0, "minor": 1, "major": 2, "critical": 3}
IMPACTS = tuple(ORDER)


def at_least(impact: str, minimum: str) -> bool:
    return ORDER[impact] >= ORDER[minimum]
