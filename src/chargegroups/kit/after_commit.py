"""News a transaction gathers while it runs, handed to listeners once it commits.

Memory kept beside the database (chargers told to clear their caches, a charger's credentials, a
bearer token's caller) must follow what was *committed*: news is kept in the session's ``info``
while the transaction runs, delivered after the commit in the committing thread, and dropped if
it rolls back. A savepoint ending is neither.

:func:`watch_rows` gathers such news by itself: any row of the watched models that the ORM adds,
changes or deletes, whichever code does it, so that no service has to remember to say so.

News that other processes must hear too (N1) is said in a plain form (:meth:`AfterCommit.encode`
of each item): ``news.py`` sends :func:`pending_news` with the commit and hands what another
process committed to :func:`deliver_news`, so the same listeners learn from every process's
commits, by one mechanism. When news may have been missed (the listening connection dropped),
:func:`news_lost` tells every listener that anything may have changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import chain
from typing import Any, Generic, TypeVar

from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

T = TypeVar("T")

#: Plain JSON values: what crosses processes.
Plain = Any

_CHANNELS: dict[str, AfterCommit[Any]] = {}


class AfterCommit(Generic[T]):
    """One kind of news: :meth:`add` during a transaction, listeners get the list after it.

    ``encode`` gives an item's plain form for other processes (None: theirs need not hear of
    it), ``decode`` takes it back (None: not understood, e.g. from a newer version);
    ``everything`` is the news that stands for "anything may have changed", and ``shrink``
    says a long list of news in fewer items that cover at least as much.
    """

    def __init__(
        self,
        name: str,
        *,
        encode: Callable[[T], Plain | None],
        decode: Callable[[Plain], T | None],
        everything: Callable[[], list[T]],
        shrink: Callable[[list[T]], list[T]],
    ) -> None:
        self.name = name
        self._key = f"chargegroups.after_commit.{name}"
        self._listeners: list[Callable[[list[T]], None]] = []
        self.encode = encode
        self.decode = decode
        self.everything = everything
        self.shrink = shrink
        _CHANNELS[name] = self

    def add(self, session_info: dict[Any, Any], items: Iterable[T]) -> None:
        """Keep ``items`` in the transaction's session (``session.info``) until it ends."""
        session_info.setdefault(self._key, []).extend(items)

    def add_listener(self, listener: Callable[[list[T]], None]) -> Callable[[], None]:
        """Register ``listener``; returns the function that unregisters it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def pending(self, session_info: dict[Any, Any]) -> list[T]:
        """The news this transaction has gathered so far."""
        items: list[T] = session_info.get(self._key, [])
        return items

    def deliver(self, items: list[T]) -> None:
        """Tell every listener: news committed here, or by another process."""
        if items:
            for listener in list(self._listeners):
                listener(items)

    def _deliver(self, session: Session) -> None:
        self.deliver(session.info.pop(self._key, None) or [])

    def _drop(self, session: Session) -> None:
        session.info.pop(self._key, None)


@event.listens_for(Session, "after_commit")
def _deliver(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: not committed yet
        return
    for channel in _CHANNELS.values():
        channel._deliver(session)


@event.listens_for(Session, "after_rollback")
def _drop(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint rolled back: earlier news still counts
        return
    for channel in _CHANNELS.values():
        channel._drop(session)


def channels() -> list[AfterCommit[Any]]:
    return list(_CHANNELS.values())


def channel(name: str) -> AfterCommit[Any] | None:
    return _CHANNELS.get(name)


def news_lost() -> None:
    """News from other processes may have been missed: tell every listener that anything may
    have changed (caches empty themselves, chargers are told to clear theirs)."""
    for each in _CHANNELS.values():
        each.deliver(each.everything())


# --------------------------------------------------------------------------- changed rows

#: (model, id, columns) of each row written; id None when a bulk statement changed rows it does
#: not name, columns None for a row added or deleted (or columns unknown).
_Row = tuple[type, str | None, frozenset[str] | None]
_WATCHED: set[type] = set()
# What each watch_rows listener reacts to: (models, columns or None for any).
_INTERESTS: list[tuple[tuple[type, ...], frozenset[str] | None]] = []


def _interesting(row: _Row) -> bool:
    model, _, changed = row
    return any(
        model in models and (columns is None or changed is None or bool(changed & columns))
        for models, columns in _INTERESTS
    )


def _encode_row(row: _Row) -> Plain | None:
    """``[table, id, columns]``, only for a row that some listener reacts to (chargers' last
    contact, stamped every few seconds, goes to no other process)."""
    if not _interesting(row):
        return None
    model, row_id, changed = row
    return [_table(model), row_id, None if changed is None else sorted(changed)]


def _table(model: type) -> str:
    name: str = inspect(model).local_table.name
    return name


def _decode_row(plain: Plain) -> _Row | None:
    table, row_id, changed = plain
    model = next((m for m in _WATCHED if _table(m) == table), None)
    if model is None:
        return None
    return (model, row_id, None if changed is None else frozenset(changed))


def _unknown_rows(rows: Iterable[_Row]) -> list[_Row]:
    return [(model, None, None) for model in {model for model, _, _ in rows}]


_ROWS: AfterCommit[_Row] = AfterCommit(
    "rows",
    encode=_encode_row,
    decode=_decode_row,
    everything=lambda: _unknown_rows((m, None, None) for m in _WATCHED),
    shrink=_unknown_rows,
)


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
    interest = (models, columns)
    _INTERESTS.append(interest)

    def deliver(rows: list[_Row]) -> None:
        ids = [
            row_id
            for model, row_id, changed in rows
            if model in models and (columns is None or changed is None or changed & columns)
        ]
        if ids:
            listener(None if None in ids else frozenset(i for i in ids if i is not None))

    stop = _ROWS.add_listener(deliver)

    def unregister() -> None:
        stop()
        _INTERESTS.remove(interest)

    return unregister


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
