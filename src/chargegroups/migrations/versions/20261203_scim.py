"""SCIM provisioning (A10): per-account tokens, SCIM-managed groups, lastModified

Revision ID: 20261203_scim
Revises: 20261203_ocpp
Create Date: 2026-12-03 15:15:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import chargegroups.models.base

revision: str = "20261203_scim"
down_revision: str | None = "20261203_ocpp"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scim_tokens",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("operator_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_by_id", sa.String(length=36), nullable=True),
        sa.Column(
            "last_used_at", chargegroups.models.base.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("revoked_at", chargegroups.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", chargegroups.models.base.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_scim_tokens_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operators.id"],
            name=op.f("fk_scim_tokens_operator_id_operators"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scim_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_scim_tokens_token_hash")),
    )
    op.create_index(op.f("ix_scim_tokens_account_id"), "scim_tokens", ["account_id"])
    op.create_index(op.f("ix_scim_tokens_operator_id"), "scim_tokens", ["operator_id"])
    with op.batch_alter_table("user_groups") as batch:
        batch.add_column(
            sa.Column("managed_by_scim", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(sa.Column("external_id", sa.String(length=200), nullable=True))
        batch.add_column(
            sa.Column(
                "updated_at", chargegroups.models.base.UTCDateTime(timezone=True), nullable=True
            )
        )
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column(
                "updated_at", chargegroups.models.base.UTCDateTime(timezone=True), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("updated_at")
    with op.batch_alter_table("user_groups") as batch:
        batch.drop_column("updated_at")
        batch.drop_column("external_id")
        batch.drop_column("managed_by_scim")
    op.drop_index(op.f("ix_scim_tokens_operator_id"), table_name="scim_tokens")
    op.drop_index(op.f("ix_scim_tokens_account_id"), table_name="scim_tokens")
    op.drop_table("scim_tokens")
