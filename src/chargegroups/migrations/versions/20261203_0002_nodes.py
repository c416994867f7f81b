"""nodes and charger connections (N1: several processes on one database)

Revision ID: 20261203_nodes
Revises: 0001
Create Date: 2026-12-03 15:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import chargegroups.models.base

revision: str = "20261203_nodes"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "nodes",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column(
            "started_at", chargegroups.models.base.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("seen_at", chargegroups.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nodes")),
    )
    op.create_table(
        "charger_connections",
        sa.Column("charger_id", sa.String(length=36), nullable=False),
        sa.Column("node_id", sa.String(length=200), nullable=False),
        sa.Column("connection_id", sa.String(length=36), nullable=False),
        sa.Column("ocpp_version", sa.String(length=16), nullable=False),
        sa.Column(
            "connected_at", chargegroups.models.base.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["charger_id"],
            ["chargers.id"],
            name=op.f("fk_charger_connections_charger_id_chargers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("charger_id", name=op.f("pk_charger_connections")),
    )
    with op.batch_alter_table("charger_connections", schema=None) as batch_op:
        batch_op.create_index("ix_charger_connections_node_id", ["node_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("charger_connections", schema=None) as batch_op:
        batch_op.drop_index("ix_charger_connections_node_id")
    op.drop_table("charger_connections")
    op.drop_table("nodes")
