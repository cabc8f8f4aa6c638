"""Incidents, opened and resolved with the state changes of monitors and heartbeats, and
their timeline entries.

Revision ID: 26f0b4c9ebf7
Revises: 0590c69c5747
Create Date: 2026-11-22 22:54:06.122720
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "26f0b4c9ebf7"
down_revision: str | None = "0590c69c5747"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column(
            "organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("impact", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column(
            "monitor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "heartbeat_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("cause", sa.Text(), nullable=True),
        sa.Column("auto_created", sa.Boolean(), nullable=False),
        sa.Column("auto_resolved", sa.Boolean(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=320), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=320), nullable=True),
        sa.Column("postmortem", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("public_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["heartbeat_id"],
            ["heartbeats.id"],
            name=op.f("fk_incidents_heartbeat_id_heartbeats"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["monitor_id"],
            ["monitors.id"],
            name=op.f("fk_incidents_monitor_id_monitors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_incidents_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
        sa.UniqueConstraint("public_id", name=op.f("uq_incidents_public_id")),
    )
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_incidents_organization_id_public_id"),
            ["organization_id", "public_id"],
            unique=False,
        )
        batch_op.create_index(
            "uq_incidents_open_heartbeat",
            ["heartbeat_id"],
            unique=True,
            sqlite_where=sa.text("heartbeat_id IS NOT NULL AND state != 'resolved'"),
            postgresql_where=sa.text("heartbeat_id IS NOT NULL AND state != 'resolved'"),
        )
        batch_op.create_index(
            "uq_incidents_open_monitor",
            ["monitor_id"],
            unique=True,
            sqlite_where=sa.text("monitor_id IS NOT NULL AND state != 'resolved'"),
            postgresql_where=sa.text("monitor_id IS NOT NULL AND state != 'resolved'"),
        )

    op.create_table(
        "incident_updates",
        sa.Column(
            "incident_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("author", sa.String(length=320), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("public_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_updates_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_updates")),
        sa.UniqueConstraint("public_id", name=op.f("uq_incident_updates_public_id")),
    )
    with op.batch_alter_table("incident_updates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_incident_updates_incident_id_public_id"),
            ["incident_id", "public_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("incident_updates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_updates_incident_id_public_id"))

    op.drop_table("incident_updates")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_incidents_open_monitor",
            sqlite_where=sa.text("monitor_id IS NOT NULL AND state != 'resolved'"),
            postgresql_where=sa.text("monitor_id IS NOT NULL AND state != 'resolved'"),
        )
        batch_op.drop_index(
            "uq_incidents_open_heartbeat",
            sqlite_where=sa.text("heartbeat_id IS NOT NULL AND state != 'resolved'"),
            postgresql_where=sa.text("heartbeat_id IS NOT NULL AND state != 'resolved'"),
        )
        batch_op.drop_index(batch_op.f("ix_incidents_organization_id_public_id"))

    op.drop_table("incidents")
