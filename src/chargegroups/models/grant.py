from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from chargegroups.models.base import Base, IdStr, created_at_column, id_column

OPERATOR_ADMIN = "operator_admin"
ACCOUNT_ADMIN = "account_admin"


class Grant(Base):
    """(user, role, scope) (R2): operator_admin on the operator, account_admin on one account."""

    __tablename__ = "grants"
    __table_args__ = (
        UniqueConstraint("user_id", "role", "scope_id"),
        CheckConstraint(
            "(role = 'operator_admin' AND account_id IS NULL)"
            " OR (role = 'account_admin' AND account_id IS NOT NULL)",
            name="role_scope",
        ),
    )

    id: Mapped[str] = id_column()
    operator_id: Mapped[str] = mapped_column(
        IdStr, ForeignKey("operators.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[str] = mapped_column(
        IdStr, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(32))
    account_id: Mapped[str | None] = mapped_column(
        IdStr, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=True, index=True
    )
    # operator id for operator_admin, account id for account_admin: makes the unique key NULL-free.
    scope_id: Mapped[str] = mapped_column(IdStr)
    created_at: Mapped[datetime] = created_at_column()
