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

from sqlalchemy import event, inspect
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

#: (model, id, columns) of each row written; id None when a bulk statement changed rows it does
#: not name, columns None for a row added or deleted (or columns unknown).
_Row = tuple[type, str | None, frozenset[str] | None]
_ROWS: AfterCommit[_Row] = AfterCommit("rows")
_WATCHED: set[type] = set()


def watch_rows(
    models: tuple[type, ...],
    listener: Callable[[frozenset[str] | None], None],
    *,
    columns: frozenset[str] | None = None,
) -> Callable[[], None]:
    """Call ``listener`` after every commit that added, changed or deleted rows of ``models``
    through the ORM — only changes to ``columns``, if given — with their ids, or None when a
    bulk statement changed rows it does not name. Returns the function that unregisters it."""
    _WATCHED.update(models)

    def deliver(rows: list[_Row]) -> None:
        ids = [
            row_id
            for model, row_id, changed in rows
            if model in models and (columns is None or changed is None or changed & columns)
        ]
        if ids:
            listener(None if None in ids else frozenset(i for i in ids if i is not None))

    return _ROWS.add_listener(deliver)


@event.listens_for(Session, "after_flush")
def _note_flushed(session: Session, _flush: UOWTransaction) -> None:
    # Still the pre-flush state here: new, dirty and deleted name what this flush wrote, and
    # the dirty rows' attribute history says which columns.
    rows: list[_Row] = [
        (type(r), r.id, None) for r in chain(session.new, session.deleted) if type(r) in _WATCHED
    ]
    rows += [(type(r), r.id, _changed_columns(r)) for r in session.dirty if type(r) in _WATCHED]
    _ROWS.add(session.info, rows)


def _changed_columns(row: Any) -> frozenset[str]:
    return frozenset(a.key for a in inspect(row).attrs if a.history.has_changes())


@event.listens_for(Session, "do_orm_execute")
def _note_bulk(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete):
        return
    changed = [m.class_ for m in state.all_mappers if m.class_ in _WATCHED]
    params = state.parameters
    if state.is_update and isinstance(params, list) and all("id" in p for p in params):
        # An UPDATE by primary key (one parameter set per row): the rows and columns are known.
        rows: list[_Row] = [(m, p["id"], frozenset(p) - {"id"}) for m in changed for p in params]
    else:
        rows = [(m, None, None) for m in changed]
    _ROWS.add(state.session.info, rows)
