"""The size cap on what a probe saw (`details`), stored with each check result.

4 KiB serialized: far above what any probe writes today (an HTTP check's URL and sizes, a
DNS answer list, a TCP reply excerpt of 200 characters: usually 100-500 bytes), yet it
bounds what one row can add to the results table and to a record held through an outage
(the spool's sizing assumes about 1.5 KB a record). A probe that ever sees more must not
fail the write, nor lose the check: its details become a marker saying how large they were.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

MAX_DETAILS_BYTES = 4096
TRUNCATED = "truncated"


def stored_details(details: Mapping[str, Any]) -> dict[str, Any] | None:
    """What to store: None when empty (no serializing on the hot path), the details as
    plain JSON values when they fit (what was measured is what is stored: a datetime becomes
    its RFC 3339 text), else the truncation marker."""
    if not details:
        return None
    try:
        encoded = orjson.dumps(dict(details), option=orjson.OPT_NON_STR_KEYS)
    except TypeError:  # a value JSON cannot hold: a probe bug, never a lost check
        return {TRUNCATED: True, "bytes": None}
    if len(encoded) > MAX_DETAILS_BYTES:
        return {TRUNCATED: True, "bytes": len(encoded)}
    loaded: dict[str, Any] = orjson.loads(encoded)
    return loaded
