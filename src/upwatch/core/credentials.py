"""Bearer credentials: personal access tokens, session ids, invitation codes.

A credential is 256 random bits, shown once and stored only as its SHA-256 hash: a leaked
database does not leak working credentials, and lookups by hash need no slow KDF because the
secret already has full entropy.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

TOKEN_PREFIX = "uw_"
TOKEN_PATTERN = re.compile(r"^uw_[A-Za-z0-9_-]{43}$")
DISPLAY_PREFIX_LENGTH = 12


def new_secret() -> str:
    """43 url-safe base64 characters: 256 bits."""
    return secrets.token_urlsafe(32)


def new_token() -> str:
    return TOKEN_PREFIX + new_secret()


def looks_like_token(value: str) -> bool:
    return bool(TOKEN_PATTERN.match(value))


def hash_secret(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def same_hash(stored: str, candidate: str) -> bool:
    return hmac.compare_digest(stored.encode(), candidate.encode())


def display_prefix(token: str) -> str:
    """The first 12 characters: enough to recognise a token in lists and audit rows."""
    return token[:DISPLAY_PREFIX_LENGTH]
