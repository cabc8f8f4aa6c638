"""Apprise, in-process, for every kind it delivers: `AppriseKind` is the base of those
kinds (each says only how its config becomes an Apprise URL), `send` the one send.

Apprise resolves names and follows redirects itself, in many client libraries, so it sends
under the socket-level guard (`net/socket_guard.py`), which judges every address it
actually connects to, unless the operator allows private destinations.
"""

from __future__ import annotations

import asyncio
from contextlib import nullcontext
from typing import Any
from urllib.parse import urlsplit

import apprise
from pydantic import BaseModel

from upwatch.channels.base import (
    ConfigRefusedError,
    Letter,
    PermanentDeliveryError,
    Receipt,
    TransientDeliveryError,
)
from upwatch.channels.render import Message
from upwatch.net.guard import AddressNotAllowedError
from upwatch.net.socket_guard import Refusals, public_only_connections
from upwatch.settings import Settings

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


class AppriseKind:
    """A kind Apprise delivers. Subclasses set `kind`, `config_model`, `secret_fields`,
    `destination_field` and say how a config becomes an Apprise URL (`url`, raising
    ConfigRefusedError)."""

    kind: str
    config_model: type[BaseModel]
    secret_fields: tuple[str, ...]
    destination_field: str
    signed = False

    def url(self, config: dict[str, Any]) -> str:
        raise NotImplementedError

    def check(self, config: dict[str, Any]) -> str | None:
        understood, host = describe(self.url(config))
        if not understood:
            raise ConfigRefusedError(
                self.secret_fields[0], "Apprise does not accept this destination",
                code="unsupported_url",
            )  # fmt: skip
        return host

    def render(self, letter: Letter) -> Message:
        return letter.message()

    async def send(self, config: dict[str, Any], rendered: Message, settings: Settings) -> Receipt:
        try:
            url = self.url(config)
        except ConfigRefusedError as exc:
            raise PermanentDeliveryError(f"bad config: {exc}") from None
        return await send(url, rendered, public_only=not settings.allow_private_destinations)


def describe(url: str) -> tuple[bool, str | None]:
    """Whether Apprise understands `url`, and the host to guard for self-hosted schemes."""
    scheme = urlsplit(url).scheme.lower()
    if not apprise.Apprise().add(url):
        return False, None
    host = urlsplit(url).hostname if scheme in SELF_HOSTED_SCHEMES else None
    return True, host


async def send(url: str, message: Message, *, public_only: bool) -> Receipt:
    if not describe(url)[0]:
        raise PermanentDeliveryError("Apprise does not accept this URL")
    ok, log, refused = await asyncio.to_thread(_notify, url, message, public_only)
    if refused is not None:
        raise PermanentDeliveryError(str(refused))
    if not ok:
        raise TransientDeliveryError(log or "Apprise could not deliver")
    return Receipt()


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
