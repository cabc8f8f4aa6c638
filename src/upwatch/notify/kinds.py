"""Channel kinds: the config each takes, which of its fields are secret, and how a typed
convenience kind (slack, discord, ...) becomes the Apprise URL that delivers it.

`webhook` is ours (signed, see `signing.py`), `email` goes through the operator's SMTP
server, everything else is delivered by Apprise in-process.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlsplit

from pydantic import AnyHttpUrl, BaseModel, Field, StringConstraints

from upwatch.schema import EmailAddress, Strict


class ChannelKind(StrEnum):
    WEBHOOK = "webhook"
    EMAIL = "email"
    APPRISE = "apprise"
    SLACK = "slack"
    DISCORD = "discord"
    TELEGRAM = "telegram"
    TEAMS = "teams"
    NTFY = "ntfy"
    PAGERDUTY = "pagerduty"


Secret = Annotated[str, StringConstraints(min_length=1, max_length=2048)]


class WebhookConfig(Strict):
    url: AnyHttpUrl = Field(description="Receives the signed JSON event (secret).")


class EmailConfig(Strict):
    to: list[EmailAddress] = Field(min_length=1, max_length=50, description="Recipients.")


class AppriseConfig(Strict):
    url: Secret = Field(description="Any Apprise URL, e.g. `ntfys://ntfy.sh/topic` (secret).")


class SlackConfig(Strict):
    webhook_url: AnyHttpUrl = Field(description="An incoming-webhook URL (secret).")


class DiscordConfig(Strict):
    webhook_url: AnyHttpUrl = Field(description="A channel webhook URL (secret).")


class TelegramConfig(Strict):
    bot_token: Annotated[str, StringConstraints(pattern=r"^\d+:[A-Za-z0-9_-]{20,}$")] = Field(
        description="The bot's token from @BotFather (secret)."
    )
    chat_id: Annotated[str, StringConstraints(pattern=r"^(-?\d+|@[A-Za-z0-9_]{4,})$")]


class TeamsConfig(Strict):
    webhook_url: AnyHttpUrl = Field(description="An incoming-webhook URL (secret).")


class NtfyConfig(Strict):
    topic: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    server: AnyHttpUrl = Field(AnyHttpUrl("https://ntfy.sh"), description="The ntfy server.")
    token: Secret | None = Field(None, description="An access token (secret).")
    priority: Literal["min", "low", "default", "high", "max"] = "default"


class PagerDutyConfig(Strict):
    integration_key: Secret = Field(description="Events API v2 integration key (secret).")
    api_key: Secret = Field(description="A REST API key (secret).")
    region: Literal["us", "eu"] = "us"


CONFIGS: dict[ChannelKind, type[BaseModel]] = {
    ChannelKind.WEBHOOK: WebhookConfig,
    ChannelKind.EMAIL: EmailConfig,
    ChannelKind.APPRISE: AppriseConfig,
    ChannelKind.SLACK: SlackConfig,
    ChannelKind.DISCORD: DiscordConfig,
    ChannelKind.TELEGRAM: TelegramConfig,
    ChannelKind.TEAMS: TeamsConfig,
    ChannelKind.NTFY: NtfyConfig,
    ChannelKind.PAGERDUTY: PagerDutyConfig,
}

# Fields never shown by ordinary reads (a `has_<field>` flag says they are set).
SECRET_FIELDS: dict[ChannelKind, tuple[str, ...]] = {
    ChannelKind.WEBHOOK: ("url",),
    ChannelKind.EMAIL: (),
    ChannelKind.APPRISE: ("url",),
    ChannelKind.SLACK: ("webhook_url",),
    ChannelKind.DISCORD: ("webhook_url",),
    ChannelKind.TELEGRAM: ("bot_token",),
    ChannelKind.TEAMS: ("webhook_url",),
    ChannelKind.NTFY: ("token",),
    ChannelKind.PAGERDUTY: ("integration_key", "api_key"),
}

_SLACK = re.compile(r"^/services/([A-Z0-9]+)/([A-Z0-9]+)/([A-Za-z0-9]+)/?$")
_DISCORD = re.compile(r"^/api/webhooks/(\d+)/([A-Za-z0-9_-]+)/?$")


class KindConfigError(ValueError):
    """The config does not describe a usable destination: `field` says which part."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def split_config(
    kind: ChannelKind, config: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(shown fields, secret fields) of a validated config."""
    secret = set(SECRET_FIELDS[kind])
    shown = {k: v for k, v in config.items() if k not in secret}
    hidden = {k: v for k, v in config.items() if k in secret and v is not None}
    return shown, hidden


def apprise_url(kind: ChannelKind, config: dict[str, Any]) -> str:
    """The Apprise URL that delivers a typed or `apprise` channel. Raises KindConfigError."""
    builder = _APPRISE_BUILDERS.get(kind)
    if builder is None:
        raise KindConfigError("kind", f"{kind} is not delivered by Apprise")
    return builder(config)


def _slack(config: dict[str, Any]) -> str:
    found = _SLACK.match(urlsplit(str(config["webhook_url"])).path)
    if not found:
        raise KindConfigError("webhook_url", "not a Slack incoming-webhook URL")
    return "slack://{}/{}/{}".format(*found.groups())


def _discord(config: dict[str, Any]) -> str:
    found = _DISCORD.match(urlsplit(str(config["webhook_url"])).path)
    if not found:
        raise KindConfigError("webhook_url", "not a Discord webhook URL")
    return "discord://{}/{}".format(*found.groups())


def _ntfy(config: dict[str, Any]) -> str:
    server = urlsplit(str(config["server"]))
    scheme = "ntfys" if server.scheme == "https" else "ntfy"
    url = f"{scheme}://{server.netloc}/{config['topic']}?priority={config['priority']}"
    token = config.get("token")
    return url + (f"&token={quote(str(token), safe='')}" if token else "")


def _pagerduty(config: dict[str, Any]) -> str:
    key, api_key = (quote(str(config[name]), safe="") for name in ("integration_key", "api_key"))
    return f"pagerduty://{key}@{api_key}?region={config['region']}"


_APPRISE_BUILDERS: dict[ChannelKind, Callable[[dict[str, Any]], str]] = {
    ChannelKind.APPRISE: lambda config: str(config["url"]),
    ChannelKind.SLACK: _slack,
    ChannelKind.DISCORD: _discord,
    ChannelKind.TELEGRAM: lambda config: f"tgram://{config['bot_token']}/{config['chat_id']}",
    # Apprise reads Teams' own incoming-webhook URLs.
    ChannelKind.TEAMS: lambda config: str(config["webhook_url"]),
    ChannelKind.NTFY: _ntfy,
    ChannelKind.PAGERDUTY: _pagerduty,
}


def uses_apprise(kind: ChannelKind) -> bool:
    return kind not in {ChannelKind.WEBHOOK, ChannelKind.EMAIL}
