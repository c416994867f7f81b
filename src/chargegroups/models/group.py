from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from chargegroups.kit.clock import utcnow
from chargegroups.models.base import Base, IdStr, UTCDateTime, created_at_column, id_column

SCOPE_ALL_ACCOUNTS = "all_accounts"
SCOPE_ACCOUNT = "account"
GLOBAL_SCOPE_KEY = "*"


class UserGroup(Base):
    """A user group: global (all_accounts) or account-level (G1)."""

    __tablename__ = "user_groups"
    __table_args__ = (
        # G4: unique per operator's global groups and per account's groups, case-insensitively.
        UniqueConstraint("operator_id", "scope_key", "name_normalized"),
        CheckConstraint(
            "(scope_kind = 'all_accounts' AND account_id IS NULL AND scope_key = '*')"
            " OR (scope_kind = 'account' AND account_id IS NOT NULL AND scope_key = account_id)",
            name="scope_shape",
        ),
        CheckConstraint("scope_kind = 'account' OR NOT auto_assign", name="auto_assign_account"),
        CheckConstraint("pays_at IN ('all_chargers', 'scoped_chargers')", name="pays_at"),
    )

    id: Mapped[str] = id_column()
    operator_id: Mapped[str] = mapped_column(
        IdStr, ForeignKey("operators.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    name_normalized: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    scope_kind: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[str | None] = mapped_column(
        IdStr, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=True, index=True
    )
    scope_key: Mapped[str] = mapped_column(IdStr)
    auto_assign: Mapped[bool] = mapped_column(Boolean, default=False)
    financial_owner_id: Mapped[str | None] = mapped_column(
        IdStr, ForeignKey("users.id"), nullable=True, index=True
    )
    pays_at: Mapped[str] = mapped_column(String(16), default="all_chargers")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by_id: Mapped[str | None] = mapped_column(IdStr, nullable=True)
    created_at: Mapped[datetime] = created_at_column()
    # A10: provisioned by the account's identity provider, which alone changes its members.
    managed_by_scim: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Identity-provider id when provisioned over SCIM.
    external_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # SCIM's meta.lastModified; None until the first change after creation.
    updated_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime(), nullable=True, onupdate=utcnow
    )

    __mapper_args__ = {"version_id_col": version}
