from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from chargegroups.models.base import Base, IdStr, created_at_column, id_column


class Account(Base):
    """A customer of the operator (fleet, company, building); one per operator is the default."""

    __tablename__ = "accounts"
    __table_args__ = (
        UniqueConstraint("operator_id", "name_normalized"),
        # At most one default account per operator.
        Index(
            "uq_accounts_one_default",
            "operator_id",
            unique=True,
            sqlite_where=text("is_default"),
            postgresql_where=text("is_default"),
        ),
    )

    id: Mapped[str] = id_column()
    operator_id: Mapped[str] = mapped_column(
        IdStr, ForeignKey("operators.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    name_normalized: Mapped[str] = mapped_column(String(200))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    default_rate_plan_id: Mapped[str | None] = mapped_column(
        IdStr, ForeignKey("rate_plans.id", ondelete="SET NULL"), nullable=True
    )
    admins_may_create_groups: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = created_at_column()


class AccountDomain(Base):
    """An email domain that places self-registered users in an account (A1, A4)."""

    __tablename__ = "account_domains"
    __table_args__ = (UniqueConstraint("operator_id", "domain"),)

    id: Mapped[str] = id_column()
    operator_id: Mapped[str] = mapped_column(IdStr, ForeignKey("operators.id", ondelete="CASCADE"))
    account_id: Mapped[str] = mapped_column(
        IdStr, ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    # Lower-case ASCII (IDNA) form; compared exactly.
    domain: Mapped[str] = mapped_column(String(253))
    created_at: Mapped[datetime] = created_at_column()
