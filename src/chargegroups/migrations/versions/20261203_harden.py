"""limit counters shared by every process (N2)

Revision ID: 20261203_harden
Revises: 20261203_nodes
Create Date: 2026-12-03 15:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import chargegroups.models.base

revision: str = "20261203_harden"
down_revision: str | None = "20261203_nodes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "limit_counters",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column(
            "window_started_at",
            chargegroups.models.base.UTCDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column(
            "blocked_until", chargegroups.models.base.UTCDateTime(timezone=True), nullable=True
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_limit_counters")),
    )


def downgrade() -> None:
    op.drop_table("limit_counters")
