"""A short memory of who holds a bearer token, so a busy API client is not read on every call.

An API integration asking thousands of decisions a second presents the same token each time;
reading its holder and grants is a database round trip per request (a fifth of a decision
over HTTP). The cache keeps the answer for ``seconds``, keyed by the token's hash (never the
token itself), and never past the token's own expiry.

Requests that miss together share one read: when a busy client's entry expires (or the
process has just started), every request it has in flight would otherwise read the same caller
at once, each on a connection of its own (docs/benchmarks.md).

It is never stale for a change made in this process: every commit that touches a user, a grant
or an access token (login, logout, revocation, blocking, grant and account changes) bumps a
generation, and an entry from an older generation is a miss. On PostgreSQL another process's
commit bumps it too, as soon as its news arrives (``news.py``); elsewhere (raw SQL) a change is
seen within ``seconds``.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import datetime

from chargegroups.auth.subject import AuthSubject
from chargegroups.kit.after_commit import watch_rows
from chargegroups.models import AccessToken, Grant, User

_generation = 0


def generation() -> int:
    """Bumped after every commit that changed a user, a grant or an access token."""
    return _generation


def _bump(_changed: frozenset[str] | None) -> None:
    global _generation
    _generation += 1


# What an authenticated caller is made of; registered for the life of the process.
watch_rows((User, Grant, AccessToken), _bump)


class CallerCache:
    """Token hash → the caller it authenticated, for ``seconds`` at most (0: no cache)."""

    def __init__(
        self,
        seconds: float,
        *,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seconds = seconds
        self.max_entries = max_entries
        self._clock = clock
        # token hash → (subject, generation, monotonic deadline, token expiry or None)
        self._entries: OrderedDict[str, tuple[AuthSubject, int, float, datetime | None]] = (
            OrderedDict()
        )
        # token hash → (the generation it began at, the read under way)
        self._reading: dict[str, tuple[int, asyncio.Future[AuthSubject]]] = {}

    def get(self, token_hash: str, now: datetime) -> AuthSubject | None:
        found = self._entries.get(token_hash)
        if found is None:
            return None
        subject, seen_generation, deadline, expires_at = found
        if (
            seen_generation != _generation
            or self._clock() >= deadline
            or (expires_at is not None and expires_at <= now)
        ):
            del self._entries[token_hash]
            return None
        return subject

    async def read_once(
        self, token_hash: str, read: Callable[[], Awaitable[AuthSubject]]
    ) -> AuthSubject:
        """``read()``'s caller, or that of the same token's read already under way since the
        last committed change (a read begun before a change is never joined after it).

        The read runs in a task of its own, so a waiter that goes away (a client that hung up)
        cancels only its own wait, never the read the others wait for; its failure (an unknown
        token, an unavailable database) is every waiter's. ``read`` must not use a caller's
        session: it may outlive that caller.
        """
        reading = self._reading.get(token_hash)
        if reading is None or reading[0] != _generation:
            task = asyncio.ensure_future(read())
            reading = self._reading[token_hash] = (_generation, task)
            task.add_done_callback(lambda _: self._forget_read(token_hash, task))
        return await asyncio.shield(reading[1])

    def _forget_read(self, token_hash: str, task: asyncio.Future[AuthSubject]) -> None:
        if (reading := self._reading.get(token_hash)) is not None and reading[1] is task:
            del self._reading[token_hash]
        if not task.cancelled():
            task.exception()  # retrieved: with every waiter gone, asyncio would log it

    def put(
        self,
        token_hash: str,
        subject: AuthSubject,
        *,
        read_at_generation: int,
        expires_at: datetime | None,
    ) -> None:
        """Remember ``subject``, read from the database when the generation was
        ``read_at_generation`` (taken *before* the read, so a change committed meanwhile makes
        the entry a miss at once)."""
        if self.seconds <= 0:
            return
        self._entries[token_hash] = (
            subject,
            read_at_generation,
            self._clock() + self.seconds,
            expires_at,
        )
        if len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
