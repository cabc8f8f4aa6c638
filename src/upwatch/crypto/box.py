"""AES-256-GCM with a key derived (HKDF-SHA256) from the instance key, one derived key per
purpose, so a value encrypted for one use cannot be replayed into another."""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = b"v1:"
NONCE_BYTES = 12


class DecryptionError(Exception):
    """The value was not encrypted with this key and purpose, or was altered."""


class SecretBox:
    def __init__(self, instance_key: str, purpose: str) -> None:
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"upwatch:" + purpose.encode()
        ).derive(instance_key.encode())
        self._aead = AESGCM(derived)

    def encrypt(self, plaintext: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return VERSION + base64.urlsafe_b64encode(
            nonce + self._aead.encrypt(nonce, plaintext, None)
        )

    def decrypt(self, token: bytes) -> bytes:
        if not token.startswith(VERSION):
            raise DecryptionError("unknown format")
        raw = base64.urlsafe_b64decode(token[len(VERSION) :])
        try:
            return self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], None)
        except InvalidTag:
            raise DecryptionError("wrong key or altered value") from None
