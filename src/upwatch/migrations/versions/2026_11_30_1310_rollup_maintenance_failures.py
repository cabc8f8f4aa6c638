"""Rollups count the failures that happened during maintenance, so statistics can leave
maintenance out (`?exclude_maintenance=true`).

Revision ID: 5d1e2a7c9b30
Revises: c7cd2c6e0dec
Create Date: 2026-11-30 13:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5d1e2a7c9b30"
down_revision: str | None = "c7cd2c6e0dec"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Rows written before this revision recorded no such count: 0 is what they knew.
    with op.batch_alter_table("check_rollups") as batch:
        batch.add_column(
            sa.Column("maintenance_failures", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("check_rollups") as batch:
        batch.drop_column("maintenance_failures")
