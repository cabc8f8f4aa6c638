"""Sealing the secret part of a channel's config (AES-GCM, purpose `channel-secrets`)."""

from __future__ import annotations

from typing import Any

import orjson

from upwatch.crypto import SecretBox
from upwatch.models import NotificationChannel


class ChannelVault:
    def __init__(self, box: SecretBox) -> None:
        self._box = box

    def seal(self, secrets: dict[str, Any]) -> bytes | None:
        return self._box.encrypt(orjson.dumps(secrets)) if secrets else None

    def secrets_of(self, channel: NotificationChannel) -> dict[str, Any]:
        if channel.secret_config is None:
            return {}
        opened: dict[str, Any] = orjson.loads(self._box.decrypt(channel.secret_config))
        return opened

    def full_config(self, channel: NotificationChannel) -> dict[str, Any]:
        return {**channel.config, **self.secrets_of(channel)}
