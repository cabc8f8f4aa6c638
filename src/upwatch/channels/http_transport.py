"""POSTing a body over the SSRF-guarded fetch of `net/http.py` (our signed webhooks), and
what the answer means: 2xx delivered; 408, 425, 429 and 5xx worth a retry; any other 4xx
final. Webhooks connect only to the very public address that was checked."""

from __future__ import annotations

import asyncio
import ssl

import aiohttp
from yarl import URL

from upwatch.channels.base import PermanentDeliveryError, Receipt, TransientDeliveryError
from upwatch.net.guard import AddressNotAllowedError
from upwatch.net.http import Exchange, Request, fetch

RESPONSE_BODY_LIMIT = 16_384
RETRYABLE_STATUSES = frozenset({408, 425, 429})


async def post(
    url: str, body: bytes, headers: dict[str, str], *, public_only: bool, limit_seconds: float
) -> Receipt:
    request = Request("POST", URL(url), data=body, headers=headers)
    try:
        async with asyncio.timeout(limit_seconds):
            answer = await fetch(
                request,
                Exchange(),
                ssl_context=ssl.create_default_context(),
                public_only=public_only,
                max_redirects=None,
                body_limit=RESPONSE_BODY_LIMIT,
            )
    except TimeoutError:
        raise TransientDeliveryError(f"no answer within {limit_seconds:g} s") from None
    except (aiohttp.ClientError, OSError) as exc:
        raise _not_sent(exc) from None
    status = answer.status
    if 200 <= status < 300:
        return Receipt(status_code=status)
    detail = answer.body[:300].decode("utf-8", "replace")
    error = f"HTTP {status} {answer.status_text}: {detail}".strip()
    if status < 500 and status not in RETRYABLE_STATUSES:
        raise PermanentDeliveryError(error, status_code=status)
    raise TransientDeliveryError(error, status_code=status)


def _not_sent(exc: aiohttp.ClientError | OSError) -> Exception:
    """A connection-level failure: refused by the SSRF guard (permanent) or not (retry)."""
    cause = exc.os_error if isinstance(exc, aiohttp.ClientConnectorError) else exc
    if isinstance(cause, AddressNotAllowedError):
        return PermanentDeliveryError(str(cause))
    return TransientDeliveryError(f"{type(exc).__name__}: {exc}")
