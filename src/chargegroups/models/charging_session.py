from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from chargegroups.models.base import (
    Base,
    IdStr,
    Money,
    UTCDateTime,
    created_at_column,
    id_column,
)


class ChargingSession(Base):
    """One OCPP transaction with the decision snapshot taken at authorization (B1)."""

    __tablename__ = "charging_sessions"
    __table_args__ = (
        # B2: a charger's transaction id makes one session, however often it is reported.
        UniqueConstraint("charger_id", "transaction_id"),
        Index("ix_charging_sessions_operator_started", "operator_id", "started_at"),
        Index("ix_charging_sessions_payer", "payer_user_id", "stopped_at"),
        Index("ix_charging_sessions_user", "user_id"),
    )

    id: Mapped[str] = id_column()
    operator_id: Mapped[str] = mapped_column(IdStr, ForeignKey("operators.id", ondelete="CASCADE"))
    charger_id: Mapped[str] = mapped_column(IdStr, ForeignKey("chargers.id"))
    account_id: Mapped[str | None] = mapped_column(IdStr, nullable=True)
    # Where (OCPP 2.0.1's model): the EVSE, and the connector within it. A 1.6 connector is an
    # EVSE of its own (its number is the EVSE id, connector 1).
    evse_id: Mapped[int] = mapped_column(Integer)
    connector_id: Mapped[int] = mapped_column(Integer)
    transaction_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str | None] = mapped_column(IdStr, ForeignKey("users.id"), nullable=True)
    token_uid: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # active | completed | refused
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    charging_ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    meter_start_wh: Mapped[int] = mapped_column(Integer, default=0)
    meter_last_wh: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # When that reading was taken: where a session the charger never ended is ended.
    meter_last_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    energy_kwh: Mapped[Decimal] = mapped_column(Numeric(14, 4), default=Decimal(0))
    charging_seconds: Mapped[int] = mapped_column(Integer, default=0)
    idle_seconds: Mapped[int] = mapped_column(Integer, default=0)
    deciding_group_id: Mapped[str | None] = mapped_column(IdStr, nullable=True)
    discount: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    payer_kind: Mapped[str] = mapped_column(String(16))  # financial_owner | driver
    payer_user_id: Mapped[str | None] = mapped_column(IdStr, nullable=True)
    payer_group_id: Mapped[str | None] = mapped_column(IdStr, nullable=True)
    rate_plan_id: Mapped[str | None] = mapped_column(IdStr, nullable=True)
    rate_plan_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    lines: Mapped[list[Any] | None] = mapped_column(nullable=True)
    subtotal: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    vat: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    total: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    # Who ended it: "charger" (its stop message), "system" (an orphan, session.rules), or
    # "operator" (by hand); None while unfinished. end_reason says why.
    ended_by: Mapped[str | None] = mapped_column(String(16), nullable=True)
    end_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    statement_id: Mapped[str | None] = mapped_column(
        IdStr, ForeignKey("statements.id"), nullable=True, index=True
    )
    created_at: Mapped[datetime] = created_at_column()
