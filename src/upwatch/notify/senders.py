"""Delivering one message: our signed webhook, email through the operator's SMTP server,
or Apprise for everything else. Each answers a `Delivery`: delivered, or why not and
whether trying again could help (`permanent`: a 4xx, a refused destination, bad config).

Destinations are checked against the SSRF guard unless the operator allows private ones:
webhooks connect only to the very public address that was checked; Apprise (which resolves
names and follows redirects itself, in many client libraries) sends under the socket-level
guard (`net/socket_guard.py`), which judges every address it actually connects to.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
import time
from contextlib import nullcontext
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
import apprise
from yarl import URL

from upwatch.net.connect import resolve
from upwatch.net.guard import AddressNotAllowedError
from upwatch.net.http import Exchange, Request, fetch
from upwatch.net.smtp import Email, email_configured, send_email
from upwatch.net.socket_guard import Refusals, public_only_connections
from upwatch.notify.render import Message
from upwatch.settings import Settings

RESPONSE_BODY_LIMIT = 16_384
ERROR_LIMIT = 1000
RETRYABLE_STATUSES = frozenset({408, 425, 429})
# Apprise schemes whose host is wherever the user points it (self-hosted services, generic
# JSON/form/XML endpoints): their hosts are checked when a channel is saved, for an early
# and clear refusal. What protects every scheme at send time is the socket-level guard.
SELF_HOSTED_SCHEMES = frozenset(
    {
        "json", "jsons", "form", "forms", "xml", "xmls", "ntfy", "ntfys", "gotify", "gotifys",
        "mmost", "mmosts", "rocket", "rockets", "matrix", "matrixs", "apprise", "apprises",
        "nctalk", "nctalks", "ncloud", "nclouds", "mqtt", "mqtts", "rsyslog", "syslog",
        "kodi", "kodis", "xbmc", "xbmcs", "signal", "signals",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Delivery:
    ok: bool
    duration_ms: float
    status_code: int | None = None
    error: str | None = None
    permanent: bool = False


def _elapsed(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


async def send_webhook(
    url: str, body: bytes, headers: dict[str, str], *, public_only: bool, limit_seconds: float
) -> Delivery:
    started = time.perf_counter()
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
        return Delivery(False, _elapsed(started), error=f"no answer within {limit_seconds:g} s")
    except (aiohttp.ClientError, OSError) as exc:
        return _not_sent(started, exc)
    status = answer.status
    if 200 <= status < 300:
        return Delivery(True, _elapsed(started), status_code=status)
    detail = answer.body[:300].decode("utf-8", "replace")
    error = f"HTTP {status} {answer.status_text}: {detail}".strip()[:ERROR_LIMIT]
    permanent = status < 500 and status not in RETRYABLE_STATUSES
    return Delivery(False, _elapsed(started), status_code=status, error=error, permanent=permanent)


def _not_sent(started: float, exc: aiohttp.ClientError | OSError) -> Delivery:
    """A connection-level failure: refused by the SSRF guard (permanent) or not (retry)."""
    cause = exc.os_error if isinstance(exc, aiohttp.ClientConnectorError) else exc
    if isinstance(cause, AddressNotAllowedError):
        return _refused(started, cause)
    return Delivery(False, _elapsed(started), error=f"{type(exc).__name__}: {exc}"[:ERROR_LIMIT])


def _refused(started: float, exc: AddressNotAllowedError) -> Delivery:
    return Delivery(False, _elapsed(started), error=str(exc), permanent=True)


async def send_mail(settings: Settings, to: list[str], message: Message) -> Delivery:
    started = time.perf_counter()
    if not email_configured(settings):
        return Delivery(
            False, _elapsed(started), error="email is not configured (UPWATCH_SMTP_HOST)",
            permanent=True,
        )  # fmt: skip
    email = Email(to=", ".join(to), subject=message.subject, text=message.text, html=message.html)
    try:
        await send_email(settings, email)
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as exc:
        return Delivery(
            False, _elapsed(started), error=f"refused: {exc}"[:ERROR_LIMIT], permanent=True
        )
    except smtplib.SMTPResponseException as exc:
        permanent = 500 <= exc.smtp_code < 600  # SMTP 5xx: permanent
        text = f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"[:ERROR_LIMIT]
        return Delivery(False, _elapsed(started), error=text, permanent=permanent)
    except (smtplib.SMTPException, OSError) as exc:
        return Delivery(
            False, _elapsed(started), error=f"{type(exc).__name__}: {exc}"[:ERROR_LIMIT]
        )
    return Delivery(True, _elapsed(started))


def describe(url: str) -> tuple[bool, str | None]:
    """Whether Apprise understands `url`, and the host to guard for self-hosted schemes."""
    scheme = urlsplit(url).scheme.lower()
    if not apprise.Apprise().add(url):
        return False, None
    host = urlsplit(url).hostname if scheme in SELF_HOSTED_SCHEMES else None
    return True, host


async def guard_host(host: str | None, *, public_only: bool) -> None:
    """Raises AddressNotAllowedError (or OSError if the name does not resolve)."""
    if host is not None and public_only:
        await resolve(host, public_only=True)


async def send_apprise(url: str, message: Message, *, public_only: bool) -> Delivery:
    started = time.perf_counter()
    if not describe(url)[0]:
        return Delivery(
            False, _elapsed(started), error="Apprise does not accept this URL", permanent=True
        )
    ok, log, refused = await asyncio.to_thread(_notify, url, message, public_only)
    if refused is not None:
        return _refused(started, refused)
    if ok:
        return Delivery(True, _elapsed(started))
    return Delivery(
        False, _elapsed(started), error=(log or "Apprise could not deliver")[:ERROR_LIMIT]
    )


def _notify(
    url: str, message: Message, public_only: bool
) -> tuple[bool, str, AddressNotAllowedError | None]:
    """Apprise's blocking send, in a worker thread; its warnings say what went wrong.

    With `public_only`, every connection Apprise makes (whatever the plugin, each redirect
    hop, in this thread or its pools) passes the socket-level guard; the first refusal is
    the delivery's error.
    """
    sender = apprise.Apprise()
    sender.add(url)
    with (
        public_only_connections() if public_only else nullcontext(Refusals()) as refusals,
        apprise.LogCapture(level=apprise.logging.WARNING) as captured,  # type: ignore[no-untyped-call]
    ):
        ok = sender.notify(
            title=message.subject, body=message.markdown, body_format=apprise.NotifyFormat.MARKDOWN
        )
        text = captured.getvalue().strip()
    return bool(ok), text, (refusals.errors[0] if refusals.errors else None)
