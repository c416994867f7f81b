from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from chargegroups.kit.clock import utcnow
from chargegroups.models.base import Base, IdStr, UTCDateTime, created_at_column, id_column


class User(Base):
    """A person of one operator, member of exactly one account (R1)."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("operator_id", "email_normalized"),)

    id: Mapped[str] = id_column()
    operator_id: Mapped[str] = mapped_column(
        IdStr, ForeignKey("operators.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[str] = mapped_column(IdStr, ForeignKey("accounts.id"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    email_normalized: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    # The user's own OCPP parent id tag (D8), shared by all of the user's tokens.
    parent_id_tag: Mapped[str] = mapped_column(String(20), unique=True)
    # Identity-provider id when provisioned over SCIM.
    external_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = created_at_column()
    # SCIM's meta.lastModified; None until the first change after creation.
    updated_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime(), nullable=True, onupdate=utcnow
    )
