"""`ntfy`: a topic on ntfy.sh or a self-hosted ntfy server, delivered by Apprise."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import quote, urlsplit

from pydantic import AnyHttpUrl, BaseModel, Field, StringConstraints

from upwatch.channels.apprise_transport import AppriseKind
from upwatch.channels.base import Secret
from upwatch.schema import Strict


class NtfyConfig(Strict):
    topic: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    server: AnyHttpUrl = Field(AnyHttpUrl("https://ntfy.sh"), description="The ntfy server.")
    token: Secret | None = Field(None, description="An access token (secret).")
    priority: Literal["min", "low", "default", "high", "max"] = "default"


class NtfyNotifier(AppriseKind):
    kind = "ntfy"
    config_model: type[BaseModel] = NtfyConfig
    secret_fields = ("token",)
    destination_field = "server"

    def url(self, config: dict[str, Any]) -> str:
        server = urlsplit(str(config["server"]))
        scheme = "ntfys" if server.scheme == "https" else "ntfy"
        url = f"{scheme}://{server.netloc}/{config['topic']}?priority={config['priority']}"
        token = config.get("token")
        return url + (f"&token={quote(str(token), safe='')}" if token else "")
