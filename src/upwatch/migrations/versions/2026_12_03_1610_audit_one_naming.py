"""One naming and one diff shape in the audit log: the actions that said what happened
(`channel.created`, `silence.expired`, `webhook_secret.rotated`, ...) take the verb every
other action uses (`channel.create`, ...), and their `{"old", "new"}` changes become
`{"from", "to"}`, so filters and readers see one vocabulary whatever a row's age.

Revision ID: 7d2b8e4a1c63
Revises: 3c9e5b1f7a42
Create Date: 2026-12-03 16:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "7d2b8e4a1c63"
down_revision: str | None = "3c9e5b1f7a42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RENAMED = {
    "channel.created": "channel.create",
    "channel.updated": "channel.update",
    "channel.deleted": "channel.delete",
    "maintenance_window.created": "maintenance_window.create",
    "maintenance_window.updated": "maintenance_window.update",
    "maintenance_window.deleted": "maintenance_window.delete",
    "silence.created": "silence.create",
    "silence.expired": "silence.expire",
    "silence.deleted": "silence.delete",
    "webhook.created": "webhook.create",
    "webhook.updated": "webhook.update",
    "webhook.deleted": "webhook.delete",
    "webhook_secret.rotated": "webhook_secret.rotate",
}
AUDIT_LOGS = sa.table(
    "audit_logs", sa.column("id", sa.Integer), sa.column("action", sa.String),
    sa.column("changes", sa.JSON),
)  # fmt: skip


def _from_to(changes: Any, old: str, new: str, to_old: str, to_new: str) -> Any:
    if not isinstance(changes, dict):
        return changes
    return {
        field: {to_old: change[old], to_new: change[new]}
        if isinstance(change, dict) and set(change) == {old, new}
        else change
        for field, change in changes.items()
    }


def _rewrite(names: dict[str, str], shape: tuple[str, str, str, str]) -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(AUDIT_LOGS.c.id, AUDIT_LOGS.c.action, AUDIT_LOGS.c.changes).where(
            AUDIT_LOGS.c.action.in_(list(names))
        )
    ).all()
    for row_id, action, changes in rows:
        connection.execute(
            AUDIT_LOGS.update()
            .where(AUDIT_LOGS.c.id == row_id)
            .values(action=names[action], changes=_from_to(changes, *shape))
        )


def upgrade() -> None:
    _rewrite(RENAMED, ("old", "new", "from", "to"))


def downgrade() -> None:
    _rewrite({new: old for old, new in RENAMED.items()}, ("from", "to", "old", "new"))
