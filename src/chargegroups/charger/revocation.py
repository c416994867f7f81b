"""Telling chargers that cached authorizations may be stale (D8).

A service that revokes access (membership removed or expired, scope link removed, token or user
blocked, charger closed) calls ``access_revoked`` inside its transaction. Nothing is sent unless
and until that transaction commits; then every registered listener (the OCPP edge, which sends
ClearCache to the connected chargers concerned) is told once per commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

_PENDING_KEY = "chargegroups.revoked"


@dataclass(frozen=True, slots=True)
class Revocation:
    """Chargers whose caches may hold revoked access. ``charger_ids`` None: all the operator's."""

    operator_id: str
    charger_ids: frozenset[str] | None


Listener = Callable[[Revocation], None]
_listeners: list[Listener] = []


def access_revoked(
    session: AsyncSession, *, operator_id: str, charger_ids: Iterable[str] | None = None
) -> None:
    pending: list[Revocation] = session.info.setdefault(_PENDING_KEY, [])
    pending.append(
        Revocation(
            operator_id=operator_id,
            charger_ids=None if charger_ids is None else frozenset(charger_ids),
        )
    )


def add_listener(listener: Listener) -> Callable[[], None]:
    """Register ``listener``; returns the function that unregisters it."""
    _listeners.append(listener)
    return lambda: _listeners.remove(listener)


def merge(revocations: Iterable[Revocation]) -> list[Revocation]:
    """One revocation per operator: an operator-wide one swallows the per-charger ones."""
    by_operator: dict[str, frozenset[str] | None] = {}
    for revocation in revocations:
        known = by_operator.get(revocation.operator_id, frozenset())
        if known is None or revocation.charger_ids is None:
            by_operator[revocation.operator_id] = None
        else:
            by_operator[revocation.operator_id] = known | revocation.charger_ids
    return [Revocation(operator_id=o, charger_ids=c) for o, c in by_operator.items()]


@event.listens_for(Session, "after_commit")
def _deliver(session: Session) -> None:
    pending = session.info.pop(_PENDING_KEY, None)
    if not pending:
        return
    for revocation in merge(pending):
        for listener in list(_listeners):
            listener(revocation)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)
