"""Spikes that are not noise: a minimum difference from the baseline (100 ms) and a number of
slow checks in a row (3) per monitor, on top of the percentage threshold.

Revision ID: 3c9e5b1f7a42
Revises: 3b9e5f1a7c42
Create Date: 2026-12-03 16:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3c9e5b1f7a42"
down_revision: str | None = "3b9e5f1a7c42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("monitors") as table:
        table.add_column(
            sa.Column("spike_min_diff_ms", sa.Float(), server_default="100", nullable=False)
        )
        table.add_column(
            sa.Column("spike_consecutive", sa.Integer(), server_default="3", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("monitors") as table:
        table.drop_column("spike_consecutive")
        table.drop_column("spike_min_diff_ms")
