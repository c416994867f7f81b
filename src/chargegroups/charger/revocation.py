"""Telling chargers that cached authorizations may be stale (D8).

A service that revokes access (membership removed or expired, scope link removed, token or user
blocked, charger closed) calls ``access_revoked`` inside its transaction. Nothing is sent unless
and until that transaction commits; then every registered listener (the OCPP edge, which sends
ClearCache to the connected chargers concerned) is told once per commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.kit.after_commit import AfterCommit


@dataclass(frozen=True, slots=True)
class Revocation:
    """Chargers whose caches may hold revoked access. ``charger_ids`` None: all the operator's."""

    operator_id: str
    charger_ids: frozenset[str] | None


Listener = Callable[[Revocation], None]
_REVOKED: AfterCommit[Revocation] = AfterCommit("revoked")


def access_revoked(
    session: AsyncSession, *, operator_id: str, charger_ids: Iterable[str] | None = None
) -> None:
    ids = None if charger_ids is None else frozenset(charger_ids)
    _REVOKED.add(session.info, [Revocation(operator_id=operator_id, charger_ids=ids)])


def add_listener(listener: Listener) -> Callable[[], None]:
    """Register ``listener``, told once per operator per commit; returns its unregistration."""

    def deliver(revocations: list[Revocation]) -> None:
        for revocation in merge(revocations):
            listener(revocation)

    return _REVOKED.add_listener(deliver)


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
