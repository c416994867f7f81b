"""News a transaction gathers while it runs, handed to listeners once it commits.

Memory kept beside the database (chargers told to clear their caches, a charger's credentials, a
bearer token's caller) must follow what was *committed*: news is kept in the session's ``info``
while the transaction runs, delivered after the commit in the committing thread, and dropped if
it rolls back. A savepoint ending is neither.

:func:`watch_rows` gathers such news by itself: any row of the watched models that the ORM adds,
changes or deletes, whichever code does it, so that no service has to remember to say so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import chain
from typing import Any, Generic, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

T = TypeVar("T")

_CHANNELS: list[AfterCommit[Any]] = []


class AfterCommit(Generic[T]):
    """One kind of news: :meth:`add` during a transaction, listeners get the list after it."""

    def __init__(self, name: str) -> None:
        self._key = f"chargegroups.after_commit.{name}"
        self._listeners: list[Callable[[list[T]], None]] = []
        _CHANNELS.append(self)

    def add(self, session_info: dict[Any, Any], items: Iterable[T]) -> None:
        """Keep ``items`` in the transaction's session (``session.info``) until it ends."""
        session_info.setdefault(self._key, []).extend(items)

    def add_listener(self, listener: Callable[[list[T]], None]) -> Callable[[], None]:
        """Register ``listener``; returns the function that unregisters it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _deliver(self, session: Session) -> None:
        items = session.info.pop(self._key, None)
        if items:
            for listener in list(self._listeners):
                listener(items)

    def _drop(self, session: Session) -> None:
        session.info.pop(self._key, None)


@event.listens_for(Session, "after_commit")
def _deliver(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: not committed yet
        return
    for channel in _CHANNELS:
        channel._deliver(session)


@event.listens_for(Session, "after_rollback")
def _drop(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint rolled back: earlier news still counts
        return
    for channel in _CHANNELS:
        channel._drop(session)


# --------------------------------------------------------------------------- changed rows

#: (model, id) of each row changed; id None when a bulk UPDATE or DELETE changed some of them.
_ROWS: AfterCommit[tuple[type, str | None]] = AfterCommit("rows")
_WATCHED: set[type] = set()


def watch_rows(
    models: tuple[type, ...], listener: Callable[[frozenset[str] | None], None]
) -> Callable[[], None]:
    """Call ``listener`` after every commit that added, changed or deleted rows of ``models``
    through the ORM, with their ids, or None when a bulk statement changed an unknown set of
    them. Returns the function that unregisters it."""
    _WATCHED.update(models)

    def deliver(rows: list[tuple[type, str | None]]) -> None:
        ids = [row_id for model, row_id in rows if model in models]
        if ids:
            listener(None if None in ids else frozenset(i for i in ids if i is not None))

    return _ROWS.add_listener(deliver)


@event.listens_for(Session, "after_flush")
def _note_flushed(session: Session, _flush: UOWTransaction) -> None:
    # Still the pre-flush state here: new, dirty and deleted name what this flush wrote.
    rows = chain(session.new, session.dirty, session.deleted)
    _ROWS.add(session.info, ((type(r), r.id) for r in rows if type(r) in _WATCHED))


@event.listens_for(Session, "do_orm_execute")
def _note_bulk(state: ORMExecuteState) -> None:
    if state.is_update or state.is_delete:
        changed = [m.class_ for m in state.all_mappers if m.class_ in _WATCHED]
        _ROWS.add(state.session.info, ((model, None) for model in changed))
