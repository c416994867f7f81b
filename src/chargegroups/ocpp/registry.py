"""The live charger connections of one node, and the ClearCache fan-out (D8).

Connections opened and closed here are written to the database by the edge
(``charger.connections``), which is where every node reads who is online; a newer connection
of the same charger on another node closes the one here (:meth:`Registry.replaced`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from chargegroups.charger.connections import Connected, Opened
from chargegroups.charger.revocation import Revocation
from chargegroups.kit.ids import new_id

log = logging.getLogger(__name__)

# How long a handshake waits for its connection to be written (in a batch with others).
ATTACH_WRITE_SECONDS = 5.0


@dataclass(eq=False, slots=True)
class Link:
    """One accepted charger connection."""

    charger_id: str
    operator_id: str
    charge_point_id: str
    ocpp_version: str
    connected_at: datetime
    last_seen_at: datetime
    close: Callable[[int, str], Awaitable[None]]  # close code and reason
    clear_cache: Callable[[], Awaitable[None]]
    call: Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]  # any call, its answer
    stamped_at: datetime | None = None  # last_seen_at as last written to the database
    connection_id: str = field(default_factory=new_id)
    closed: asyncio.Event = field(default_factory=asyncio.Event)  # the WebSocket is gone
    written: asyncio.Event = field(default_factory=asyncio.Event)  # its row is in the database

    def opened(self) -> Opened:
        return Opened(self.charger_id, self.connection_id, self.ocpp_version, self.connected_at)

    def stamp(self) -> tuple[str, datetime, str]:
        self.stamped_at = self.last_seen_at
        return (self.charger_id, self.last_seen_at, self.ocpp_version)


@dataclass(slots=True)
class Registry:
    links: dict[str, Link] = field(default_factory=dict)  # by charger id
    # Accepted connections still to be written as this node's.
    opening: list[Link] = field(default_factory=list)
    # Closed connections whose last contact is still to be written; they stay in ``links``
    # until it is, so an offline charger always has its last contact stored.
    leaving: list[Link] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    emptied: asyncio.Event = field(default_factory=asyncio.Event)  # set while no connection
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def attach(self, link: Link) -> None:
        """Make ``link`` the charger's connection; a previous one is closed (reconnects win)."""
        old = self.links.get(link.charger_id)
        self.links[link.charger_id] = link
        self.emptied.clear()
        self.opening.append(link)
        self.changed.set()
        if old is not None:
            await old.close(1000, "replaced by a new connection")
        with suppress(TimeoutError):  # a slow database delays no handshake for long
            await asyncio.wait_for(link.written.wait(), ATTACH_WRITE_SECONDS)

    def leave(self, link: Link) -> None:
        """The connection closed: its last contact is written (by the edge), then it is gone."""
        link.closed.set()
        self.leaving.append(link)
        self.changed.set()

    def take_changes(self) -> tuple[list[Link], list[Link]]:
        """The connections opened and closed since last asked."""
        self.changed.clear()
        opening, self.opening = self.opening, []
        leaving, self.leaving = self.leaving, []
        return opening, leaving

    def replaced(self, connected: list[Connected]) -> None:
        """On this registry's event loop: close each connection here that a newer one of the
        same charger replaced, on whichever node."""
        for new in connected:
            link = self.links.get(new.charger_id)
            if (
                link is not None
                and link.connection_id != new.connection_id
                and link.connected_at <= new.connected_at
                and not link.closed.is_set()
            ):
                self._spawn(link.close(1000, "replaced by a new connection"))

    async def close_all(self, code: int, reason: str) -> None:
        """Close every connection (a node that stops: chargers reconnect to another)."""
        links = [link for link in self.links.values() if not link.closed.is_set()]
        await asyncio.gather(*(link.close(code, reason) for link in links))

    def detach(self, link: Link) -> None:
        if self.links.get(link.charger_id) is link:
            del self.links[link.charger_id]
        if not self.links:
            self.emptied.set()

    def unstamped(self, resolution: timedelta) -> list[tuple[str, datetime, str]]:
        """Chargers whose stored last contact is older than ``resolution`` behind the one in
        memory, stamped now (the caller writes them)."""
        return [
            link.stamp()
            for link in self.links.values()
            if link.stamped_at is None or link.last_seen_at - link.stamped_at >= resolution
        ]

    def concerned(self, revocation: Revocation) -> list[Link]:
        return [
            link
            for link in self.links.values()
            if not link.closed.is_set()
            and revocation.operator_id in (None, link.operator_id)
            and (revocation.charger_ids is None or link.charger_id in revocation.charger_ids)
        ]

    def send_clear_cache(self, revocation: Revocation) -> None:
        """On this registry's event loop: ClearCache to every connected charger concerned."""
        for link in self.concerned(revocation):
            self._spawn(self._clear(link))

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _clear(self, link: Link) -> None:
        """ClearCache, given up when the connection closes meanwhile (it has no cache to
        clear here any more, and waiting for an answer that cannot come helps no one)."""
        call = asyncio.ensure_future(link.clear_cache())
        gone = asyncio.ensure_future(link.closed.wait())
        try:
            await asyncio.wait((call, gone), return_when=asyncio.FIRST_COMPLETED)
            if call.done():
                call.result()
        except Exception as error:  # a charger that never answers must not hurt the rest
            log.warning("ClearCache to %s failed: %r", link.charge_point_id, error)
        finally:
            call.cancel()
            gone.cancel()

    def listener(self, loop: asyncio.AbstractEventLoop) -> Callable[[Revocation], None]:
        """A revocation listener safe to call from any thread (commits happen anywhere)."""

        def on_revocation(revocation: Revocation) -> None:
            loop.call_soon_threadsafe(self.send_clear_cache, revocation)

        return on_revocation

    def takeover_listener(
        self, loop: asyncio.AbstractEventLoop
    ) -> Callable[[list[Connected]], None]:
        """A listener of new connections safe to call from any thread."""

        def on_connected(connected: list[Connected]) -> None:
            loop.call_soon_threadsafe(self.replaced, connected)

        return on_connected
