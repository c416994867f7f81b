from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from chargegroups.models.base import (
    Base,
    IdStr,
    Money,
    UTCDateTime,
    created_at_column,
    id_column,
)


class Charger(Base):
    """A charge point, known to OCPP by its charge_point_id (C1)."""

    __tablename__ = "chargers"
    __table_args__ = (
        CheckConstraint("access_mode IN ('public', 'private', 'closed')", name="access_mode"),
        CheckConstraint("connectors >= 1 AND connectors <= 64", name="connectors"),
    )

    id: Mapped[str] = id_column()
    operator_id: Mapped[str] = mapped_column(
        IdStr, ForeignKey("operators.id", ondelete="CASCADE"), index=True
    )
    # The OCPP endpoint path carries no operator, so the identity is unique system-wide.
    charge_point_id: Mapped[str] = mapped_column(String(48), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    site: Mapped[str | None] = mapped_column(String(200), nullable=True)
    account_id: Mapped[str | None] = mapped_column(
        IdStr, ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True, index=True
    )
    access_mode: Mapped[str] = mapped_column(String(8), default="public")
    rate_plan_id: Mapped[str | None] = mapped_column(
        IdStr, ForeignKey("rate_plans.id", ondelete="SET NULL"), nullable=True
    )
    # The site's energy cost for cost-plus rate plans; None: the plan's own cost applies.
    energy_cost_per_kwh: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    connectors: Mapped[int] = mapped_column(Integer, default=1)
    password_hash: Mapped[str] = mapped_column(String(200))
    ocpp_version: Mapped[str | None] = mapped_column(String(16), nullable=True)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # What the charger last reported over OCPP (charger.rules): its connectors' status and open
    # faults, its firmware / diagnostics / log upload status, and its device model (EVSEs,
    # connectors, local authorization list limits).
    station_status: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    operations_status: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    device_model: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = created_at_column()


class ChargerScope(Base):
    """A group assigned to a charger's scope (C3)."""

    __tablename__ = "charger_scope"
    __table_args__ = (Index("ix_charger_scope_group_id", "group_id"),)

    charger_id: Mapped[str] = mapped_column(
        IdStr, ForeignKey("chargers.id", ondelete="CASCADE"), primary_key=True
    )
    group_id: Mapped[str] = mapped_column(
        IdStr, ForeignKey("user_groups.id", ondelete="CASCADE"), primary_key=True
    )
    operator_id: Mapped[str] = mapped_column(IdStr, ForeignKey("operators.id", ondelete="CASCADE"))
    added_by_id: Mapped[str | None] = mapped_column(IdStr, nullable=True)
    created_at: Mapped[datetime] = created_at_column()
