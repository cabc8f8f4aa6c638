"""Every channel kind, one line each. Nothing else in Upwatch switches on a channel's kind."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from upwatch.channels.apprise import AppriseNotifier
from upwatch.channels.base import Notifier
from upwatch.channels.discord import DiscordNotifier
from upwatch.channels.email import EmailNotifier
from upwatch.channels.gotify import GotifyNotifier
from upwatch.channels.ntfy import NtfyNotifier
from upwatch.channels.pagerduty import PagerDutyNotifier
from upwatch.channels.slack import SlackNotifier
from upwatch.channels.teams import TeamsNotifier
from upwatch.channels.telegram import TelegramNotifier
from upwatch.channels.webhook import WebhookNotifier

NOTIFIERS: dict[str, Notifier[Any]] = {
    notifier.kind: notifier
    for notifier in (
        WebhookNotifier(),
        EmailNotifier(),
        AppriseNotifier(),
        SlackNotifier(),
        DiscordNotifier(),
        TelegramNotifier(),
        TeamsNotifier(),
        NtfyNotifier(),
        PagerDutyNotifier(),
        GotifyNotifier(),
    )
}

# The API's `kind` (an enum in the OpenAPI document), made from the registry so a new kind
# needs no second list. Its members are never named in code: `NOTIFIERS[kind]` is the switch.
ChannelKind = StrEnum("ChannelKind", [(kind.upper(), kind) for kind in NOTIFIERS])  # type: ignore[misc]


def split_config(kind: str, config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(shown fields, secret fields) of a validated config."""
    secret = set(NOTIFIERS[kind].secret_fields)
    shown = {k: v for k, v in config.items() if k not in secret}
    hidden = {k: v for k, v in config.items() if k in secret and v is not None}
    return shown, hidden
