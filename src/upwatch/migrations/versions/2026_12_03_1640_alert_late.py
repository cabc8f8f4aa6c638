"""Alerts keep their `late` mark (recorded only after a database outage), so the alert API
shows it: the outbox payload carries it too, but an unrouted or suppressed alert has no
outbox row to read it from. Alerts from before are not late.

Revision ID: 9a4f6c2e8b15
Revises: 7d2b8e4a1c63
Create Date: 2026-12-03 16:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9a4f6c2e8b15"
down_revision: str | None = "7d2b8e4a1c63"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as table:
        table.add_column(sa.Column("late", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("alerts") as table:
        table.drop_column("late")
