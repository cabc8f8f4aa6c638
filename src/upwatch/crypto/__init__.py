"""Secrets at rest: the instance key and authenticated encryption with it."""

from upwatch.crypto.box import SecretBox
from upwatch.crypto.keys import resolve_secret_key

__all__ = ["SecretBox", "resolve_secret_key"]
