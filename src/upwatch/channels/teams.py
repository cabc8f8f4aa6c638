"""`teams`: a Microsoft Teams incoming-webhook URL, delivered by Apprise."""

from __future__ import annotations

from typing import Any

from pydantic import AnyHttpUrl, BaseModel, Field

from upwatch.channels.apprise_transport import AppriseKind
from upwatch.schema import Strict


class TeamsConfig(Strict):
    webhook_url: AnyHttpUrl = Field(description="An incoming-webhook URL (secret).")


class TeamsNotifier(AppriseKind):
    kind = "teams"
    config_model: type[BaseModel] = TeamsConfig
    secret_fields = ("webhook_url",)
    destination_field = "webhook_url"

    def url(self, config: dict[str, Any]) -> str:
        return str(config["webhook_url"])  # Apprise reads Teams' own webhook URLs
