from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from chargegroups.models.base import Base, IdStr, UTCDateTime, created_at_column, id_column


class Invitation(Base):
    """A single-use invitation of an email address to an account (A2)."""

    __tablename__ = "invitations"

    id: Mapped[str] = id_column()
    operator_id: Mapped[str] = mapped_column(
        IdStr, ForeignKey("operators.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[str] = mapped_column(
        IdStr, ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(320))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[str | None] = mapped_column(IdStr, nullable=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = created_at_column()


class JoinLink(Base):
    """A shareable join link of an account (A3)."""

    __tablename__ = "join_links"

    id: Mapped[str] = id_column()
    operator_id: Mapped[str] = mapped_column(
        IdStr, ForeignKey("operators.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[str] = mapped_column(
        IdStr, ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    max_uses: Mapped[int | None] = mapped_column(Integer, nullable=True)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_by_id: Mapped[str | None] = mapped_column(IdStr, nullable=True)
    created_at: Mapped[datetime] = created_at_column()


class EmailVerification(Base):
    """A one-time token proving a user controls an email address (A4)."""

    __tablename__ = "email_verifications"

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column(
        IdStr, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = created_at_column()


class OutboxEmail(Base):
    """Every email the service sends; delivered over SMTP when configured."""

    __tablename__ = "outbox_emails"

    id: Mapped[str] = id_column()
    operator_id: Mapped[str] = mapped_column(
        IdStr, ForeignKey("operators.id", ondelete="CASCADE"), index=True
    )
    to: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = created_at_column()
