"""`email`: the rendered message (plain and HTML) through the operator's SMTP server."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from upwatch.channels.base import Letter, Receipt
from upwatch.channels.render import Message
from upwatch.channels.smtp_transport import send_mail
from upwatch.schema import EmailAddress, Strict
from upwatch.settings import Settings


class EmailConfig(Strict):
    to: list[EmailAddress] = Field(min_length=1, max_length=50, description="Recipients.")


class EmailNotifier:
    kind = "email"
    config_model: type[BaseModel] = EmailConfig
    secret_fields: tuple[str, ...] = ()
    destination_field = "to"  # never a user-chosen host: the operator's SMTP server sends
    signed = False

    def check(self, config: dict[str, Any]) -> str | None:  # noqa: ARG002 - the protocol's
        return None  # the schema says it all; no host of the user's choosing

    def render(self, letter: Letter) -> Message:
        return letter.message()

    async def send(self, config: dict[str, Any], rendered: Message, settings: Settings) -> Receipt:
        return await send_mail(settings, list(config["to"]), rendered)
