from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from chargegroups.models.base import Base, IdStr, created_at_column, id_column


class IdempotencyKey(Base):
    """The first answer to a creating POST sent with an Idempotency-Key, replayed on repeats."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column(IdStr, ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = created_at_column()
