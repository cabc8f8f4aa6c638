"""`pagerduty`: an Events API v2 integration, delivered by Apprise."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, Field

from upwatch.channels.apprise_transport import AppriseKind
from upwatch.channels.base import Secret
from upwatch.schema import Strict


class PagerDutyConfig(Strict):
    integration_key: Secret = Field(description="Events API v2 integration key (secret).")
    api_key: Secret = Field(description="A REST API key (secret).")
    region: Literal["us", "eu"] = "us"


class PagerDutyNotifier(AppriseKind):
    kind = "pagerduty"
    config_model: type[BaseModel] = PagerDutyConfig
    secret_fields = ("integration_key", "api_key")
    destination_field = "integration_key"

    def url(self, config: dict[str, Any]) -> str:
        key, api_key = (
            quote(str(config[name]), safe="") for name in ("integration_key", "api_key")
        )
        return f"pagerduty://{key}@{api_key}?region={config['region']}"
