"""`telegram`: a bot token and a chat, delivered by Apprise."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from upwatch.channels.apprise_transport import AppriseKind
from upwatch.schema import Strict


class TelegramConfig(Strict):
    bot_token: Annotated[str, StringConstraints(pattern=r"^\d+:[A-Za-z0-9_-]{20,}$")] = Field(
        description="The bot's token from @BotFather (secret)."
    )
    chat_id: Annotated[str, StringConstraints(pattern=r"^(-?\d+|@[A-Za-z0-9_]{4,})$")]


class TelegramNotifier(AppriseKind):
    kind = "telegram"
    config_model: type[BaseModel] = TelegramConfig
    secret_fields = ("bot_token",)
    destination_field = "bot_token"

    def url(self, config: dict[str, Any]) -> str:
        return f"tgram://{config['bot_token']}/{config['chat_id']}"
