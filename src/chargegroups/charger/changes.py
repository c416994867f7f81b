"""Telling listeners which chargers changed, once the transaction that changed them commits.

The OCPP edge keeps chargers' handshake credentials in memory (``ocpp/credentials.py``); a new
password or charge_point_id must refuse the old one at the very next handshake. So every charger
row added, changed or deleted through the ORM, by whatever code, is collected at flush and its id
handed to the listeners after commit (nothing on rollback) — no service has to remember to say so.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import chain
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from chargegroups.models import Charger

_PENDING_KEY = "chargegroups.chargers_changed"

Listener = Callable[[frozenset[str]], None]
_listeners: list[Listener] = []


def add_listener(listener: Listener) -> Callable[[], None]:
    """Register ``listener`` (called in the committing thread); returns its unregistration."""
    _listeners.append(listener)
    return lambda: _listeners.remove(listener)


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _context: Any) -> None:
    # Still the pre-flush state here: new, dirty and deleted name what this flush wrote.
    changed = {
        row.id
        for row in chain(session.new, session.dirty, session.deleted)
        if isinstance(row, Charger)
    }
    if changed:
        session.info.setdefault(_PENDING_KEY, set()).update(changed)


@event.listens_for(Session, "after_commit")
def _deliver(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: not committed yet
        return
    changed = session.info.pop(_PENDING_KEY, None)
    if changed:
        for listener in list(_listeners):
            listener(frozenset(changed))


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint rolled back: earlier changes still count
        return
    session.info.pop(_PENDING_KEY, None)
