"""Ping tokens (`/ping/{uuid}`) and organization ping keys (`/ping/{key}/{slug}`).

Both are credentials: whoever knows one can move a heartbeat's state. They are looked up by
SHA-256 and kept sealed (AES-GCM) so the API can show them again; the database alone does
not reveal them.
"""

from __future__ import annotations

import secrets
import uuid

from upwatch.core.credentials import hash_secret
from upwatch.crypto import SecretBox

PING_KEY_BYTES = 16  # 22 url-safe characters, never a UUID: /ping/ tells the forms apart


class PingCredentials:
    def __init__(self, box: SecretBox) -> None:
        self._box = box

    @staticmethod
    def new_token() -> str:
        return str(uuid.uuid4())

    @staticmethod
    def new_key() -> str:
        return secrets.token_urlsafe(PING_KEY_BYTES)

    @staticmethod
    def lookup_hash(credential: str) -> str:
        return hash_secret(credential.lower() if _is_uuid(credential) else credential)

    def seal(self, credential: str) -> bytes:
        return self._box.encrypt(credential.encode())

    def open(self, sealed: bytes) -> str:
        return self._box.decrypt(sealed).decode()


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
