"""OCPP as operators run it: what chargers report, EVSEs on sessions, sessions that end

Revision ID: 20261203_ocpp
Revises: 0001
Create Date: 2026-12-03 15:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261203_ocpp"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("chargers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("station_status", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("operations_status", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("device_model", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("chargers", schema=None) as batch_op:
        batch_op.drop_column("device_model")
        batch_op.drop_column("operations_status")
        batch_op.drop_column("station_status")
