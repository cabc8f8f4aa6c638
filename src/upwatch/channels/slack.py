"""`slack`: a Slack incoming-webhook URL, delivered by Apprise."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from pydantic import AnyHttpUrl, BaseModel, Field

from upwatch.channels.apprise_transport import AppriseKind
from upwatch.channels.base import ConfigRefusedError
from upwatch.schema import Strict

_PATH = re.compile(r"^/services/([A-Z0-9]+)/([A-Z0-9]+)/([A-Za-z0-9]+)/?$")


class SlackConfig(Strict):
    webhook_url: AnyHttpUrl = Field(description="An incoming-webhook URL (secret).")


class SlackNotifier(AppriseKind):
    kind = "slack"
    config_model: type[BaseModel] = SlackConfig
    secret_fields = ("webhook_url",)
    destination_field = "webhook_url"

    def url(self, config: dict[str, Any]) -> str:
        found = _PATH.match(urlsplit(str(config["webhook_url"])).path)
        if not found:
            raise ConfigRefusedError("webhook_url", "not a Slack incoming-webhook URL")
        return "slack://{}/{}/{}".format(*found.groups())
