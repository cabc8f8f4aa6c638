"""`gotify`: a message to a self-hosted Gotify server (an application token), delivered by
Apprise."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import quote, urlsplit

from pydantic import AnyHttpUrl, BaseModel, Field, StringConstraints

from upwatch.channels.apprise_transport import AppriseKind
from upwatch.schema import Strict


class GotifyConfig(Strict):
    server: AnyHttpUrl = Field(
        description="The Gotify server, with its path if it is served under one "
        "(`https://push.example.com/gotify/`)."
    )
    token: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,128}$")] = Field(
        description="An application token (secret)."
    )
    # Apprise's names for Gotify's priorities 0, 3, 5, 8 and 10 (it sends only these).
    priority: Literal["low", "moderate", "normal", "high", "emergency"] = "normal"


class GotifyNotifier(AppriseKind):
    kind = "gotify"
    config_model: type[BaseModel] = GotifyConfig
    secret_fields = ("token",)
    destination_field = "server"

    def url(self, config: dict[str, Any]) -> str:
        server = urlsplit(str(config["server"]))
        scheme = "gotifys" if server.scheme == "https" else "gotify"
        path = server.path.strip("/")
        prefix = f"/{path}" if path else ""
        token = quote(str(config["token"]), safe="")
        # format=markdown: Gotify's clients then render the markdown body the message has.
        query = f"priority={config['priority']}&format=markdown"
        return f"{scheme}://{server.netloc}{prefix}/{token}?{query}"
