"""Baseline: an empty schema that later revisions build on.

Revision ID: 636ef037d147
Revises:
Create Date: 2026-11-22 18:42:32.920900
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "636ef037d147"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
