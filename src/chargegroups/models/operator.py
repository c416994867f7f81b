from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from chargegroups.models.base import Base, IdStr, created_at_column, id_column
from chargegroups.session.rules import MAX_SESSION_HOURS


class Operator(Base):
    """The tenant: a charge point operator. Every other row belongs to exactly one operator."""

    __tablename__ = "operators"

    id: Mapped[str] = id_column()
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # No foreign key: rate_plans points back at operators, and SQLite cannot add the cycle's
    # second edge later. The operator service checks the plan; rate plans are never deleted.
    default_rate_plan_id: Mapped[str | None] = mapped_column(IdStr, nullable=True)
    self_signup_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    auth_cache_ttl_seconds: Mapped[int] = mapped_column(Integer, default=900)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # A session still open after this long is over (session.rules.outlived).
    max_session_hours: Mapped[int] = mapped_column(
        Integer, default=MAX_SESSION_HOURS, server_default=str(MAX_SESSION_HOURS)
    )
    # OCPI party that publishes our tariffs (country code + party id).
    ocpi_country_code: Mapped[str] = mapped_column(String(2), default="NL")
    ocpi_party_id: Mapped[str] = mapped_column(String(3), default="CGR")
    created_at: Mapped[datetime] = created_at_column()
