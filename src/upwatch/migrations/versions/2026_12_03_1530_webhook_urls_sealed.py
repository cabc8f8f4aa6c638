"""Webhook subscription URLs are secrets, like channel URLs: sealed at rest (AES-GCM with the
instance key, purpose "webhook-secrets") in `secret_url`, with only the host kept readable
in `url_host`. Existing plaintext URLs are sealed here; a downgrade opens them again.

The instance key is the one the application uses: `instance_key` in the Alembic config's
attributes when the caller gives it, else resolved from the settings as the app does
(`UPWATCH_SECRET_KEY` or `<data_dir>/secret.key`).

Revision ID: 3b9e5f1a7c42
Revises: 8a4f0c2d6e17
Create Date: 2026-12-03 15:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic import op

from upwatch.crypto import SecretBox, resolve_secret_key
from upwatch.settings import load_settings

revision: str = "3b9e5f1a7c42"
down_revision: str | None = "8a4f0c2d6e17"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PURPOSE = "webhook-secrets"
webhooks = sa.table(
    "webhooks",
    sa.column("id", sa.Integer),
    sa.column("url", sa.String),
    sa.column("secret_url", sa.LargeBinary),
    sa.column("url_host", sa.String),
)


def _box() -> SecretBox:
    """Only a database holding subscriptions needs the key."""
    config = op.get_context().config
    key = config.attributes.get("instance_key") if config is not None else None
    return SecretBox(key or resolve_secret_key(load_settings()), PURPOSE)


def upgrade() -> None:
    with op.batch_alter_table("webhooks") as batch_op:
        batch_op.add_column(sa.Column("secret_url", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("url_host", sa.String(length=255), nullable=True))
    _seal_existing()
    with op.batch_alter_table("webhooks") as batch_op:
        batch_op.alter_column("secret_url", existing_type=sa.LargeBinary(), nullable=False)
        batch_op.alter_column("url_host", existing_type=sa.String(length=255), nullable=False)
        batch_op.drop_column("url")


def _seal_existing() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(webhooks.c.id, webhooks.c.url)).all()
    if not rows:
        return
    box = _box()
    for row_id, url in rows:
        host = (urlsplit(url).hostname or "")[:255]
        connection.execute(
            webhooks.update()
            .where(webhooks.c.id == row_id)
            .values(secret_url=box.encrypt(url.encode()), url_host=host)
        )


def downgrade() -> None:
    with op.batch_alter_table("webhooks") as batch_op:
        batch_op.add_column(sa.Column("url", sa.String(length=2048), nullable=True))
    _open_existing()
    with op.batch_alter_table("webhooks") as batch_op:
        batch_op.alter_column("url", existing_type=sa.String(length=2048), nullable=False)
        batch_op.drop_column("url_host")
        batch_op.drop_column("secret_url")


def _open_existing() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(webhooks.c.id, webhooks.c.secret_url)).all()
    if not rows:
        return
    box = _box()
    for row_id, sealed in rows:
        connection.execute(
            webhooks.update()
            .where(webhooks.c.id == row_id)
            .values(url=box.decrypt(sealed).decode())
        )
