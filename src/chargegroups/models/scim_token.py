from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from chargegroups.models.base import Base, IdStr, UTCDateTime, created_at_column, id_column


class ScimToken(Base):
    """An account's provisioning credential for its identity provider (A10), stored as a
    SHA-256 hash; the bearer token names the account its requests may see and change."""

    __tablename__ = "scim_tokens"

    id: Mapped[str] = id_column()
    operator_id: Mapped[str] = mapped_column(
        IdStr, ForeignKey("operators.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[str] = mapped_column(
        IdStr, ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # No foreign key: the token outlives the admin who made it.
    created_by_id: Mapped[str | None] = mapped_column(IdStr, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = created_at_column()
