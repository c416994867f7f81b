from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from chargegroups.models.base import Base, IdStr, UTCDateTime, created_at_column, id_column

MEMBERSHIP_SOURCES = (
    "manual",
    "auto_assign",
    "invitation",
    "invitation_link",
    "domain",
    "transfer",
    "scim",
    "import",
)


class GroupMembership(Base):
    """A user's membership of a group, with who added it, when, how and until when (G12)."""

    __tablename__ = "group_memberships"
    __table_args__ = (
        UniqueConstraint("group_id", "user_id"),
        Index("ix_group_memberships_user_id", "user_id"),
    )

    id: Mapped[str] = id_column()
    operator_id: Mapped[str] = mapped_column(IdStr, ForeignKey("operators.id", ondelete="CASCADE"))
    group_id: Mapped[str] = mapped_column(IdStr, ForeignKey("user_groups.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(IdStr, ForeignKey("users.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(20))
    added_by_id: Mapped[str | None] = mapped_column(IdStr, nullable=True)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = created_at_column()
