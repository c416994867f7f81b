"""The live charger connections of one application, and the ClearCache fan-out (D8)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from chargegroups.charger.revocation import Revocation

log = logging.getLogger(__name__)


@dataclass(eq=False, slots=True)
class Link:
    """One accepted charger connection."""

    charger_id: str
    operator_id: str
    charge_point_id: str
    ocpp_version: str
    connected_at: datetime
    last_seen_at: datetime
    close: Callable[[], Awaitable[None]]
    clear_cache: Callable[[], Awaitable[None]]
    stamped_at: datetime | None = None  # last_seen_at as last written to the database

    def stamp(self) -> tuple[str, datetime, str]:
        self.stamped_at = self.last_seen_at
        return (self.charger_id, self.last_seen_at, self.ocpp_version)


@dataclass(slots=True)
class Registry:
    links: dict[str, Link] = field(default_factory=dict)  # by charger id
    # Closed connections whose last contact is still to be written; they stay in ``links`` (and
    # so show online) until it is, so an offline charger always has its last contact stored.
    leaving: list[Link] = field(default_factory=list)
    left: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def attach(self, link: Link) -> None:
        """Make ``link`` the charger's connection; a previous one is closed (reconnects win)."""
        old = self.links.get(link.charger_id)
        self.links[link.charger_id] = link
        if old is not None:
            await old.close()

    def leave(self, link: Link) -> None:
        """The connection closed: its last contact is written (by the edge), then it is gone."""
        self.leaving.append(link)
        self.left.set()

    def take_leaving(self) -> list[Link]:
        self.left.clear()
        leaving, self.leaving = self.leaving, []
        return leaving

    def detach(self, link: Link) -> None:
        if self.links.get(link.charger_id) is link:
            del self.links[link.charger_id]

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
            if link.operator_id == revocation.operator_id
            and (revocation.charger_ids is None or link.charger_id in revocation.charger_ids)
        ]

    def send_clear_cache(self, revocation: Revocation) -> None:
        """On this registry's event loop: ClearCache to every connected charger concerned."""
        for link in self.concerned(revocation):
            task = asyncio.create_task(self._clear(link))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _clear(self, link: Link) -> None:
        try:
            await link.clear_cache()
        except Exception:  # a charger that vanished or never answers must not hurt the rest
            log.warning("ClearCache to %s failed", link.charge_point_id, exc_info=True)

    def listener(self, loop: asyncio.AbstractEventLoop) -> Callable[[Revocation], None]:
        """A revocation listener safe to call from any thread (commits happen anywhere)."""

        def on_revocation(revocation: Revocation) -> None:
            loop.call_soon_threadsafe(self.send_clear_cache, revocation)

        return on_revocation
