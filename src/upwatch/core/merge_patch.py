"""JSON merge patch (RFC 7386): how a PATCH changes a stored JSON object.

Given keys replace, `null` removes a key, absent keys are kept; objects merge key by key at
every depth, anything else (arrays included) is replaced whole.
"""

from __future__ import annotations

from typing import Any


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged
