"""Heartbeats: jobs that ping, their states, pings and runs; organization ping keys;
state changes of heartbeats.

Revision ID: 0590c69c5747
Revises: 55ac43ace966
Create Date: 2026-11-22 21:41:41.498262
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0590c69c5747"
down_revision: str | None = "55ac43ace966"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "heartbeats",
        sa.Column(
            "organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=True),
        sa.Column("period_seconds", sa.Integer(), nullable=True),
        sa.Column("cron", sa.String(length=200), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("grace_seconds", sa.Integer(), nullable=False),
        sa.Column("max_runtime_seconds", sa.Integer(), nullable=True),
        sa.Column("min_runtime_seconds", sa.Integer(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("ping_token_hash", sa.String(length=64), nullable=False),
        sa.Column("ping_token_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("public_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_heartbeats_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_heartbeats")),
        sa.UniqueConstraint(
            "organization_id", "slug", name=op.f("uq_heartbeats_organization_id_slug")
        ),
        sa.UniqueConstraint("ping_token_hash", name=op.f("uq_heartbeats_ping_token_hash")),
        sa.UniqueConstraint("public_id", name=op.f("uq_heartbeats_public_id")),
    )
    with op.batch_alter_table("heartbeats", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_heartbeats_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "ping_keys",
        sa.Column(
            "organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("key_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_ping_keys_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", name=op.f("pk_ping_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_ping_keys_key_hash")),
    )
    op.create_table(
        "heartbeat_pings",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "heartbeat_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("exit_code", sa.SmallInteger(), nullable=True),
        sa.Column("rid", sa.String(length=64), nullable=True),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("source_ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=300), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("body_truncated", sa.Boolean(), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["heartbeat_id"],
            ["heartbeats.id"],
            name=op.f("fk_heartbeat_pings_heartbeat_id_heartbeats"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_heartbeat_pings")),
    )
    with op.batch_alter_table("heartbeat_pings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_heartbeat_pings_heartbeat_id_id"), ["heartbeat_id", "id"], unique=False
        )

    op.create_table(
        "heartbeat_runs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "heartbeat_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("rid", sa.String(length=64), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_ms", sa.Float(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("exit_code", sa.SmallInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["heartbeat_id"],
            ["heartbeats.id"],
            name=op.f("fk_heartbeat_runs_heartbeat_id_heartbeats"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_heartbeat_runs")),
    )
    with op.batch_alter_table("heartbeat_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_heartbeat_runs_heartbeat_id_id"), ["heartbeat_id", "id"], unique=False
        )

    op.create_table(
        "heartbeat_states",
        sa.Column(
            "heartbeat_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_ping_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_ping_kind", sa.String(length=16), nullable=True),
        sa.Column("last_exit_code", sa.SmallInteger(), nullable=True),
        sa.Column("last_duration_ms", sa.Float(), nullable=True),
        sa.Column("pings", sa.BigInteger(), nullable=False),
        sa.Column("open_runs", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["heartbeat_id"],
            ["heartbeats.id"],
            name=op.f("fk_heartbeat_states_heartbeat_id_heartbeats"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("heartbeat_id", name=op.f("pk_heartbeat_states")),
    )
    with op.batch_alter_table("heartbeat_states", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_heartbeat_states_deadline_at"), ["deadline_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_heartbeat_states_status"), ["status"], unique=False)

    op.create_table(
        "heartbeat_tags",
        sa.Column(
            "heartbeat_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["heartbeat_id"],
            ["heartbeats.id"],
            name=op.f("fk_heartbeat_tags_heartbeat_id_heartbeats"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("heartbeat_id", "tag", name=op.f("pk_heartbeat_tags")),
    )
    with op.batch_alter_table("heartbeat_tags", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_heartbeat_tags_tag_heartbeat_id"), ["tag", "heartbeat_id"], unique=False
        )

    with op.batch_alter_table("state_changes", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "heartbeat_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
            )
        )
        batch_op.alter_column(
            "monitor_id",
            existing_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        )
        batch_op.create_index(
            batch_op.f("ix_state_changes_heartbeat_id_public_id"),
            ["heartbeat_id", "public_id"],
            unique=False,
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_state_changes_heartbeat_id_heartbeats"),
            "heartbeats",
            ["heartbeat_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_check_constraint(
            "one_subject", "(monitor_id IS NULL) <> (heartbeat_id IS NULL)"
        )


def downgrade() -> None:
    with op.batch_alter_table("state_changes", schema=None) as batch_op:
        batch_op.drop_constraint("one_subject", type_="check")
        batch_op.drop_constraint(
            batch_op.f("fk_state_changes_heartbeat_id_heartbeats"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_state_changes_heartbeat_id_public_id"))
        batch_op.alter_column(
            "monitor_id",
            existing_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        )
        batch_op.drop_column("heartbeat_id")

    with op.batch_alter_table("heartbeat_tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_heartbeat_tags_tag_heartbeat_id"))

    op.drop_table("heartbeat_tags")
    with op.batch_alter_table("heartbeat_states", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_heartbeat_states_status"))
        batch_op.drop_index(batch_op.f("ix_heartbeat_states_deadline_at"))

    op.drop_table("heartbeat_states")
    with op.batch_alter_table("heartbeat_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_heartbeat_runs_heartbeat_id_id"))

    op.drop_table("heartbeat_runs")
    with op.batch_alter_table("heartbeat_pings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_heartbeat_pings_heartbeat_id_id"))

    op.drop_table("heartbeat_pings")
    op.drop_table("ping_keys")
    with op.batch_alter_table("heartbeats", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_heartbeats_organization_id"))

    op.drop_table("heartbeats")
