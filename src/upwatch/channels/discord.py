"""`discord`: a Discord channel webhook URL, delivered by Apprise."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from pydantic import AnyHttpUrl, BaseModel, Field

from upwatch.channels.apprise_transport import AppriseKind
from upwatch.channels.base import ConfigRefusedError
from upwatch.schema import Strict

_PATH = re.compile(r"^/api/webhooks/(\d+)/([A-Za-z0-9_-]+)/?$")


class DiscordConfig(Strict):
    webhook_url: AnyHttpUrl = Field(description="A channel webhook URL (secret).")


class DiscordNotifier(AppriseKind):
    kind = "discord"
    config_model: type[BaseModel] = DiscordConfig
    secret_fields = ("webhook_url",)
    destination_field = "webhook_url"

    def url(self, config: dict[str, Any]) -> str:
        found = _PATH.match(urlsplit(str(config["webhook_url"])).path)
        if not found:
            raise ConfigRefusedError("webhook_url", "not a Discord webhook URL")
        return "discord://{}/{}".format(*found.groups())
