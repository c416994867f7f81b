from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from chargegroups.models.base import Base, IdStr, created_at_column, id_column


class RatePlan(Base):
    """An operator's rate plan; its terms live in versions (a session keeps its version)."""

    __tablename__ = "rate_plans"
    __table_args__ = (UniqueConstraint("operator_id", "name_normalized"),)

    id: Mapped[str] = id_column()
    operator_id: Mapped[str] = mapped_column(
        IdStr, ForeignKey("operators.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    name_normalized: Mapped[str] = mapped_column(String(120))
    currency: Mapped[str] = mapped_column(String(3))
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = created_at_column()


class RatePlanVersion(Base):
    """The immutable terms of one version of a rate plan (JSON, decimals as strings)."""

    __tablename__ = "rate_plan_versions"
    __table_args__ = (UniqueConstraint("rate_plan_id", "version"),)

    id: Mapped[str] = id_column()
    rate_plan_id: Mapped[str] = mapped_column(
        IdStr, ForeignKey("rate_plans.id", ondelete="CASCADE")
    )
    version: Mapped[int] = mapped_column(Integer)
    terms: Mapped[dict[str, Any]] = mapped_column()
    created_by_id: Mapped[str | None] = mapped_column(IdStr, nullable=True)
    created_at: Mapped[datetime] = created_at_column()


class GroupDiscount(Base):
    """A group's discount on a rate plan (G9): a percentage or free."""

    __tablename__ = "group_discounts"
    __table_args__ = (
        CheckConstraint(
            "(free AND percent IS NULL) OR (NOT free AND percent > 0 AND percent <= 100)",
            name="percent_or_free",
        ),
    )

    rate_plan_id: Mapped[str] = mapped_column(
        IdStr, ForeignKey("rate_plans.id", ondelete="CASCADE"), primary_key=True
    )
    group_id: Mapped[str] = mapped_column(
        IdStr, ForeignKey("user_groups.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    operator_id: Mapped[str] = mapped_column(IdStr, ForeignKey("operators.id", ondelete="CASCADE"))
    percent: Mapped[Decimal | None] = mapped_column(Numeric(5, 2), nullable=True)
    free: Mapped[bool] = mapped_column(Boolean, default=False)
    set_by_id: Mapped[str | None] = mapped_column(IdStr, nullable=True)
    created_at: Mapped[datetime] = created_at_column()


class DiscountDelegation(Base):
    """What an account's admins may apply as group discounts (G9): which plans, up to what."""

    __tablename__ = "discount_delegations"
    __table_args__ = (
        CheckConstraint(
            "max_percent IS NULL OR (max_percent > 0 AND max_percent <= 100)", name="cap"
        ),
    )

    account_id: Mapped[str] = mapped_column(
        IdStr, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    operator_id: Mapped[str] = mapped_column(IdStr, ForeignKey("operators.id", ondelete="CASCADE"))
    max_percent: Mapped[Decimal | None] = mapped_column(Numeric(5, 2), nullable=True)
    free_allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = created_at_column()


class DiscountDelegationPlan(Base):
    """One rate plan an account's admins may use for group discounts."""

    __tablename__ = "discount_delegation_plans"

    account_id: Mapped[str] = mapped_column(
        IdStr, ForeignKey("discount_delegations.account_id", ondelete="CASCADE"), primary_key=True
    )
    rate_plan_id: Mapped[str] = mapped_column(
        IdStr, ForeignKey("rate_plans.id", ondelete="CASCADE"), primary_key=True
    )
