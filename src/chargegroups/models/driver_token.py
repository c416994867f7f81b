from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from chargegroups.models.base import Base, IdStr, UTCDateTime, created_at_column, id_column


class DriverToken(Base):
    """An RFID card, app or eMAID token a driver presents to a charger."""

    __tablename__ = "driver_tokens"
    __table_args__ = (
        UniqueConstraint("operator_id", "uid_normalized"),
        CheckConstraint("type IN ('rfid', 'app', 'emaid')", name="type"),
    )

    id: Mapped[str] = id_column()
    operator_id: Mapped[str] = mapped_column(IdStr, ForeignKey("operators.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(
        IdStr, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    uid: Mapped[str] = mapped_column(String(64))
    uid_normalized: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(8))
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = created_at_column()
