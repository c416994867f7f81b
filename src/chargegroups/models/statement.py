from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from chargegroups.models.base import (
    Base,
    IdStr,
    Money,
    UTCDateTime,
    created_at_column,
    id_column,
)


class Statement(Base):
    """What one payer owes for one billing period in one currency (B3)."""

    __tablename__ = "statements"
    __table_args__ = (UniqueConstraint("payer_user_id", "period_start", "currency"),)

    id: Mapped[str] = id_column()
    operator_id: Mapped[str] = mapped_column(
        IdStr, ForeignKey("operators.id", ondelete="CASCADE"), index=True
    )
    payer_kind: Mapped[str] = mapped_column(String(16))
    payer_user_id: Mapped[str] = mapped_column(IdStr, ForeignKey("users.id"))
    account_id: Mapped[str | None] = mapped_column(IdStr, nullable=True, index=True)
    period_start: Mapped[datetime] = mapped_column(UTCDateTime())
    period_end: Mapped[datetime] = mapped_column(UTCDateTime())
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(8), default="open")  # open | closed | paid
    subtotal: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    vat: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    total: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = created_at_column()
