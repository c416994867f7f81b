"""Which node holds each charger's connection (N1): the queries, and the news of a takeover.

A charger is **online** while its ``charger_connections`` row exists and the node named there
holds a current lease (``nodes.seen_at`` renewed every ``LEASE_RENEW_SECONDS``; a node that died
without a word stops counting after ``LEASE_SECONDS``). One meaning, for every page and node.

A node writes the rows of the connections it accepts and closes (in batches: a reconnection
storm is a few statements, not thousands); each accepted connection is news
(:func:`announce_connected`), and a node holding an older connection of the same charger closes
it on hearing it — from its own commit or, through ``news.py``, another node's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, tuple_
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.kit.after_commit import AfterCommit
from chargegroups.kit.clock import as_utc
from chargegroups.models import ChargerConnection, Node

LEASE_RENEW_SECONDS = 5.0
LEASE_SECONDS = 20.0


@dataclass(frozen=True, slots=True)
class Connected:
    """A charger's new connection: any older one, on whichever node, is to be closed."""

    charger_id: str
    connection_id: str
    connected_at: datetime


def _encode(item: Connected) -> list[Any]:
    return [item.charger_id, item.connection_id, item.connected_at.isoformat()]


def _decode(plain: list[Any]) -> Connected:
    charger_id, connection_id, at = plain
    return Connected(charger_id, connection_id, as_utc(datetime.fromisoformat(at)))


# Never shrunk or summed up: a node closes only a connection it is told was replaced.
_CONNECTED: AfterCommit[Connected] = AfterCommit(
    "connected", encode=_encode, decode=_decode, everything=list, shrink=lambda items: items
)


def add_listener(listener: Callable[[list[Connected]], None]) -> Callable[[], None]:
    return _CONNECTED.add_listener(listener)


@dataclass(frozen=True, slots=True)
class Opened:
    charger_id: str
    connection_id: str
    ocpp_version: str
    connected_at: datetime


async def record(
    session: AsyncSession,
    node_id: str,
    opened: Sequence[Opened],
    closed: Sequence[tuple[str, str]],
) -> None:
    """Connections this node ``opened`` and ``closed`` (charger id, connection id), in order:
    a newer connection replaces a charger's row, an older one never does, and a closed one
    removes only its own row."""
    if opened:
        values = [
            {
                "charger_id": o.charger_id,
                "node_id": node_id,
                "connection_id": o.connection_id,
                "ocpp_version": o.ocpp_version,
                "connected_at": o.connected_at,
            }
            for o in _latest_per_charger(opened)
        ]
        insert = postgresql_insert if _dialect(session) == "postgresql" else sqlite_insert
        stmt = insert(ChargerConnection).values(values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[ChargerConnection.charger_id],
            set_={
                "node_id": stmt.excluded.node_id,
                "connection_id": stmt.excluded.connection_id,
                "ocpp_version": stmt.excluded.ocpp_version,
                "connected_at": stmt.excluded.connected_at,
            },
            where=ChargerConnection.connected_at <= stmt.excluded.connected_at,
        )
        await session.execute(stmt)
        announce_connected(
            session, [Connected(o.charger_id, o.connection_id, o.connected_at) for o in opened]
        )
    if closed:
        await session.execute(
            delete(ChargerConnection).where(
                tuple_(ChargerConnection.charger_id, ChargerConnection.connection_id).in_(closed)
            )
        )


def _latest_per_charger(opened: Iterable[Opened]) -> list[Opened]:
    latest: dict[str, Opened] = {}
    for o in opened:
        if o.charger_id not in latest or latest[o.charger_id].connected_at <= o.connected_at:
            latest[o.charger_id] = o
    return list(latest.values())


def announce_connected(session: AsyncSession, items: Iterable[Connected]) -> None:
    _CONNECTED.add(session.info, items)


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


async def renew_lease(session: AsyncSession, node_id: str, now: datetime) -> None:
    """This node is alive; nodes whose lease ran out are gone, with their connections."""
    insert = postgresql_insert if _dialect(session) == "postgresql" else sqlite_insert
    stmt = insert(Node).values(id=node_id, started_at=now, seen_at=now)
    await session.execute(
        stmt.on_conflict_do_update(index_elements=[Node.id], set_={"seen_at": now})
    )
    expired = select(Node.id).where(Node.seen_at < now - timedelta(seconds=LEASE_SECONDS))
    await session.execute(delete(ChargerConnection).where(ChargerConnection.node_id.in_(expired)))
    await session.execute(delete(Node).where(Node.id.in_(expired)))


async def leave(session: AsyncSession, node_id: str) -> None:
    """This node stops (or starts again under the same id): none of its connections remain."""
    await session.execute(delete(ChargerConnection).where(ChargerConnection.node_id == node_id))
    await session.execute(delete(Node).where(Node.id == node_id))


async def online(
    session: AsyncSession, charger_ids: Sequence[str], now: datetime
) -> dict[str, ChargerConnection]:
    """The connections of those chargers that are online, by charger id."""
    if not charger_ids:
        return {}
    stmt = (
        select(ChargerConnection)
        .join(Node, Node.id == ChargerConnection.node_id)
        .where(
            ChargerConnection.charger_id.in_(charger_ids),
            Node.seen_at >= now - timedelta(seconds=LEASE_SECONDS),
        )
    )
    return {c.charger_id: c for c in (await session.execute(stmt)).scalars()}
