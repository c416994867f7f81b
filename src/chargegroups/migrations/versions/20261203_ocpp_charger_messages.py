"""OCPP as operators run it: what chargers report, EVSEs on sessions, sessions that end

Revision ID: 20261203_ocpp
Revises: 20261203_harden
Create Date: 2026-12-03 15:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import chargegroups.models.base

revision: str = "20261203_ocpp"
down_revision: str | None = "20261203_harden"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("chargers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("station_status", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("operations_status", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("device_model", sa.JSON(), nullable=True))
    # Sessions name the EVSE and the connector within it. Sessions before this were all placed
    # by one number, the 1.6 connector (2.0.1: the connector or EVSE id): it becomes the EVSE.
    with op.batch_alter_table("charging_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("evse_id", sa.Integer(), nullable=True))
    op.execute("UPDATE charging_sessions SET evse_id = connector_id, connector_id = 1")
    with op.batch_alter_table("charging_sessions", schema=None) as batch_op:
        batch_op.alter_column("evse_id", existing_type=sa.Integer(), nullable=False)
        batch_op.add_column(
            sa.Column(
                "meter_last_at",
                chargegroups.models.base.UTCDateTime(timezone=True),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("ended_by", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("end_reason", sa.String(length=200), nullable=True))
    op.execute("UPDATE charging_sessions SET ended_by = 'charger' WHERE stopped_at IS NOT NULL")
    with op.batch_alter_table("operators", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("max_session_hours", sa.Integer(), server_default="24", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("operators", schema=None) as batch_op:
        batch_op.drop_column("max_session_hours")
    with op.batch_alter_table("charging_sessions", schema=None) as batch_op:
        batch_op.drop_column("end_reason")
        batch_op.drop_column("ended_by")
        batch_op.drop_column("meter_last_at")
    op.execute("UPDATE charging_sessions SET connector_id = evse_id")
    with op.batch_alter_table("charging_sessions", schema=None) as batch_op:
        batch_op.drop_column("evse_id")
    with op.batch_alter_table("chargers", schema=None) as batch_op:
        batch_op.drop_column("device_model")
        batch_op.drop_column("operations_status")
        batch_op.drop_column("station_status")
