"""`webhook`: the event's JSON envelope, POSTed and signed with the organization's secret
(`Upwatch-Signature`, see `signing.py`). Webhook subscriptions are delivered the same way."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson
from pydantic import AnyHttpUrl, BaseModel, Field

from upwatch.channels import http_transport
from upwatch.channels.base import Letter, Receipt
from upwatch.channels.signing import signature_header
from upwatch.schema import Strict
from upwatch.settings import Settings


class WebhookConfig(Strict):
    url: AnyHttpUrl = Field(description="Receives the signed JSON event (secret).")


@dataclass(frozen=True, slots=True)
class SignedBody:
    body: bytes
    headers: dict[str, str]


class WebhookNotifier:
    kind = "webhook"
    config_model: type[BaseModel] = WebhookConfig
    secret_fields = ("url",)
    destination_field = "url"
    signed = True

    def check(self, config: dict[str, Any]) -> str | None:
        return urlsplit(str(config["url"])).hostname

    def render(self, letter: Letter) -> SignedBody:
        assert letter.signing_secret is not None, "the dispatcher signs webhooks"
        body = orjson.dumps(letter.context["envelope"])
        headers = {
            "Content-Type": "application/json",
            "Upwatch-Event": letter.event_type,
            "Upwatch-Delivery": letter.delivery_id,
            # The wall clock, not an injected one: receivers judge freshness by theirs.
            "Upwatch-Signature": signature_header(letter.signing_secret, int(time.time()), body),
        }
        return SignedBody(body, headers)

    async def send(
        self, config: dict[str, Any], rendered: SignedBody, settings: Settings
    ) -> Receipt:
        return await http_transport.post(
            str(config["url"]), rendered.body, rendered.headers,
            public_only=not settings.allow_private_destinations,
            limit_seconds=settings.notification_timeout_seconds,
        )  # fmt: skip
