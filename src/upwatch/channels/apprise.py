"""`apprise`: any Apprise URL, as the user wrote it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from upwatch.channels.apprise_transport import AppriseKind
from upwatch.channels.base import Secret
from upwatch.schema import Strict


class AppriseConfig(Strict):
    url: Secret = Field(description="Any Apprise URL, e.g. `ntfys://ntfy.sh/topic` (secret).")


class AppriseNotifier(AppriseKind):
    kind = "apprise"
    config_model: type[BaseModel] = AppriseConfig
    secret_fields = ("url",)
    destination_field = "url"

    def url(self, config: dict[str, Any]) -> str:
        return str(config["url"])
