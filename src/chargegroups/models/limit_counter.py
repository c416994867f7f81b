from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from chargegroups.models.base import Base


class LimitCounter(Base):
    """One key's count of a limit that holds for the whole deployment (N2): its hits since the
    window started and, for failures, until when the key is refused. Every process of a
    deployment shares the database, so every process sees the same counts."""

    __tablename__ = "limit_counters"

    # SHA-256 of the limit's name and the key (an address, an email): fixed length, and the
    # table holds no address or email in clear.
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer)
    window_started_at: Mapped[datetime]
    blocked_until: Mapped[datetime | None]
