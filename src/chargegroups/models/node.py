from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from chargegroups.models.base import Base, IdStr, UTCDateTime

NODE_ID_MAX = 200


class Node(Base):
    """A running ``serve`` process (N1), alive while it renews ``seen_at`` (its lease)."""

    __tablename__ = "nodes"

    id: Mapped[str] = mapped_column(String(NODE_ID_MAX), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ChargerConnection(Base):
    """The one WebSocket a charger holds, and the node that holds it (N1).

    A charger is online while this row exists and its node's lease is current; a reconnect to
    any node replaces the row (the newer connection wins), and the node that held the old one
    closes it.
    """

    __tablename__ = "charger_connections"
    __table_args__ = (Index("ix_charger_connections_node_id", "node_id"),)

    charger_id: Mapped[str] = mapped_column(
        IdStr, ForeignKey("chargers.id", ondelete="CASCADE"), primary_key=True
    )
    # No foreign key to nodes: a connection row is written before the node's first lease
    # renewal may have landed, and a node's rows are swept with it.
    node_id: Mapped[str] = mapped_column(String(NODE_ID_MAX))
    connection_id: Mapped[str] = mapped_column(IdStr)
    ocpp_version: Mapped[str] = mapped_column(String(16))
    connected_at: Mapped[datetime] = mapped_column(UTCDateTime())
