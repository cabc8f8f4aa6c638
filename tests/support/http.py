"""One-off requests to a test server, with a timeout a loaded CI machine does not trip:
httpx's default of 5 s was once exceeded by a busy two-core runner, failing a test whose
subject had nothing to do with time."""

from __future__ import annotations

from typing import Any

import httpx

TIMEOUT_SECONDS = 30.0


def get(url: str, **options: Any) -> httpx.Response:
    return httpx.get(url, timeout=TIMEOUT_SECONDS, **options)


def post(url: str, **options: Any) -> httpx.Response:
    return httpx.post(url, timeout=TIMEOUT_SECONDS, **options)
