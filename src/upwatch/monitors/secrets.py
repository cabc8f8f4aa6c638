"""Secret parts of a monitor's config (HTTP header values, passwords) are stored encrypted,
apart from the rest, and never shown by ordinary reads.

Each config model names its secret fields in `secret_paths`: `"headers.*"` (every value of
a mapping) or `"basic_auth.password"` (one nested field). Reads show them as `MASK`; an
update that sends `MASK` back keeps the stored value, so clients can round-trip a config.
"""

from __future__ import annotations

import copy
from typing import Any

import orjson

from upwatch.crypto import SecretBox

MASK = "********"


def _walk(config: dict[str, Any], path: str) -> list[tuple[dict[str, Any], str]]:
    """The (container, key) pairs a secret path points at in `config`."""
    *parents, leaf = path.split(".")
    container: Any = config
    for part in parents:
        container = container.get(part) if isinstance(container, dict) else None
    if not isinstance(container, dict):
        return []
    if leaf == "*":
        return [(container, key) for key in container]
    return [(container, leaf)] if leaf in container else []


def split(config: dict[str, Any], paths: tuple[str, ...]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(config with secret values removed, {"path|key": value}) for storage."""
    public = copy.deepcopy(config)
    secrets: dict[str, Any] = {}
    for path in paths:
        for container, key in _walk(public, path):
            if container[key] is not None:
                secrets[f"{path}|{key}"] = container[key]
                container[key] = None
    return public, secrets


def join(public: dict[str, Any], secrets: dict[str, Any], paths: tuple[str, ...]) -> dict[str, Any]:
    """The full config again, to run the probe or to show on the secrets endpoint."""
    full = copy.deepcopy(public)
    for path in paths:
        for container, key in _walk(full, path):
            container[key] = secrets.get(f"{path}|{key}", container[key])
    return full


def redact(public: dict[str, Any], paths: tuple[str, ...]) -> dict[str, Any]:
    shown = copy.deepcopy(public)
    for path in paths:
        for container, key in _walk(shown, path):
            container[key] = MASK
    return shown


def keep_masked(
    submitted: dict[str, Any], stored: dict[str, Any], paths: tuple[str, ...]
) -> dict[str, Any]:
    """`submitted` with each MASK replaced by the secret already stored at that place."""
    merged = copy.deepcopy(submitted)
    for path in paths:
        for container, key in _walk(merged, path):
            if container[key] == MASK:
                container[key] = stored.get(f"{path}|{key}")
    return merged


class SecretStore:
    """Seals and opens the secret part of configs with the instance key."""

    def __init__(self, box: SecretBox) -> None:
        self._box = box

    def seal(self, secrets: dict[str, Any]) -> bytes | None:
        return self._box.encrypt(orjson.dumps(secrets)) if secrets else None

    def open(self, sealed: bytes | None) -> dict[str, Any]:
        if not sealed:
            return {}
        opened: dict[str, Any] = orjson.loads(self._box.decrypt(sealed))
        return opened
