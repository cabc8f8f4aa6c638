"""Check results keep what the probe saw (`details`, JSON, size-capped by the writer).
Results from before have none.

Revision ID: 3c7e1d9b5a42
Revises: 9a4f6c2e8b15
Create Date: 2026-12-03 18:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3c7e1d9b5a42"
down_revision: str | None = "9a4f6c2e8b15"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable without a default: on PostgreSQL and SQLite adding it rewrites no row.
    with op.batch_alter_table("check_results") as table:
        table.add_column(sa.Column("details", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("check_results") as table:
        table.drop_column("details")
