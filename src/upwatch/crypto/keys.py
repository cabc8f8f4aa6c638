"""The instance's secret key: `UPWATCH_SECRET_KEY`, or a key generated once and kept in
`<data_dir>/secret.key` (mode 0600), so a single-machine install needs no setup.

Every process sharing a database must use the same key; several machines therefore set
`UPWATCH_SECRET_KEY` (or `_FILE`) explicitly.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from upwatch.settings import MIN_SECRET_KEY_LENGTH, Settings

KEY_FILE_NAME = "secret.key"


def resolve_secret_key(settings: Settings) -> str:
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    path = settings.data_dir / KEY_FILE_NAME
    if path.exists():
        return _read(path)
    return _create(path)


def _read(path: Path) -> str:
    key = path.read_text(encoding="utf-8").strip()
    if len(key) < MIN_SECRET_KEY_LENGTH:
        raise ValueError(f"{path} holds a key shorter than {MIN_SECRET_KEY_LENGTH} characters")
    return key


def _create(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    try:
        # O_EXCL: if two processes race, one creates the file and the other reads it.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    return key
