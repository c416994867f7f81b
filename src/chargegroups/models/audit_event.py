from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from chargegroups.models.base import Base, IdStr, created_at_column, id_column


class AuditEvent(Base):
    """Append-only record of one change (U1); written in the same transaction as the change."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_operator_target", "operator_id", "target_type", "target_id"),
        Index("ix_audit_events_operator_account", "operator_id", "account_id"),
    )

    id: Mapped[str] = id_column()
    operator_id: Mapped[str] = mapped_column(IdStr, ForeignKey("operators.id", ondelete="CASCADE"))
    # No foreign keys to accounts/users: the history outlives what it describes (G11).
    account_id: Mapped[str | None] = mapped_column(IdStr, nullable=True)
    actor_id: Mapped[str | None] = mapped_column(IdStr, nullable=True, index=True)
    actor_kind: Mapped[str] = mapped_column(String(16))  # user | system | charger | scim
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = created_at_column()
