"""A short memory of who holds a bearer token, so a busy API client is not read on every call.

An API integration asking thousands of decisions a second presents the same token each time;
reading its holder and grants is a database round trip per request (a fifth of a decision
over HTTP). The cache keeps the answer for ``seconds``, keyed by the token's hash (never the
token itself), and never past the token's own expiry.

It is never stale for a change made in this process: every commit that touches a user, a grant
or an access token (login, logout, revocation, blocking, grant and account changes) bumps a
generation, and an entry from an older generation is a miss. A change made by another process
(a second worker, the command line) is seen within ``seconds``.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from itertools import chain

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from chargegroups.auth.subject import AuthSubject
from chargegroups.models import AccessToken, Grant, User

#: What an authenticated caller is made of.
_WATCHED: tuple[type, ...] = (User, Grant, AccessToken)
_CHANGED = "chargegroups.auth_changed"

_generation = 0


def generation() -> int:
    """Bumped after every commit that changed a user, a grant or an access token."""
    return _generation


@event.listens_for(Session, "after_flush")
def _note_flushed_changes(session: Session, _flush: UOWTransaction) -> None:
    if any(isinstance(o, _WATCHED) for o in chain(session.new, session.dirty, session.deleted)):
        session.info[_CHANGED] = True


@event.listens_for(Session, "do_orm_execute")
def _note_bulk_changes(state: ORMExecuteState) -> None:
    if (state.is_update or state.is_delete) and any(
        mapper.class_ in _WATCHED for mapper in state.all_mappers
    ):
        state.session.info[_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _bump_generation(session: Session) -> None:
    global _generation
    if session.info.pop(_CHANGED, False):
        _generation += 1


@event.listens_for(Session, "after_rollback")
def _forget_changes(session: Session) -> None:
    session.info.pop(_CHANGED, None)


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
