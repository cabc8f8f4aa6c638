"""An index per sort order of the monitor list, so that a page of 100,000 monitors sorted by
name (or kind, or interval) is an index range instead of a sort of every monitor. The one on
(organization_id, public_id) replaces the index on organization_id alone, its prefix.

Revision ID: 8a4f0c2d6e17
Revises: 5d1e2a7c9b30
Create Date: 2026-12-01 07:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "8a4f0c2d6e17"
down_revision: str | None = "5d1e2a7c9b30"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_monitors_organization_id_public_id": ["organization_id", "public_id"],
    "ix_monitors_organization_id_name_public_id": ["organization_id", "name", "public_id"],
    "ix_monitors_organization_id_kind_public_id": ["organization_id", "kind", "public_id"],
    "ix_monitors_organization_id_interval_seconds_public_id": [
        "organization_id",
        "interval_seconds",
        "public_id",
    ],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "monitors", columns, unique=False)
    op.drop_index("ix_monitors_organization_id", table_name="monitors")


def downgrade() -> None:
    op.create_index("ix_monitors_organization_id", "monitors", ["organization_id"], unique=False)
    for name in INDEXES:
        op.drop_index(name, table_name="monitors")
