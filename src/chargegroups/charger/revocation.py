"""Telling chargers that cached authorizations may be stale (D8).

A service that revokes access (membership removed or expired, scope link removed, token or user
blocked, charger closed) calls ``access_revoked`` inside its transaction. Nothing is sent unless
and until that transaction commits; then every registered listener (the OCPP edge, which sends
ClearCache to the connected chargers concerned) is told once per commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.kit.after_commit import AfterCommit


@dataclass(frozen=True, slots=True)
class Revocation:
    """Chargers whose caches may hold revoked access. ``charger_ids`` None: all the operator's;
    ``operator_id`` None: every operator's (news from other processes may have been missed)."""

    operator_id: str | None
    charger_ids: frozenset[str] | None


Listener = Callable[[Revocation], None]


def _encode(revocation: Revocation) -> list[Any]:
    ids = revocation.charger_ids
    return [revocation.operator_id, None if ids is None else sorted(ids)]


def _decode(plain: list[Any]) -> Revocation:
    operator_id, ids = plain
    return Revocation(operator_id=operator_id, charger_ids=None if ids is None else frozenset(ids))


def _operator_wide(revocations: list[Revocation]) -> list[Revocation]:
    return merge(Revocation(r.operator_id, None) for r in revocations)


_REVOKED: AfterCommit[Revocation] = AfterCommit(
    "revoked",
    encode=_encode,
    decode=_decode,
    everything=lambda: [Revocation(operator_id=None, charger_ids=None)],
    shrink=_operator_wide,
)


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
    """One revocation per operator: an operator-wide one swallows the per-charger ones, one for
    every operator swallows all."""
    by_operator: dict[str | None, frozenset[str] | None] = {}
    for revocation in revocations:
        if revocation.operator_id is None:
            return [Revocation(operator_id=None, charger_ids=None)]
        known = by_operator.get(revocation.operator_id, frozenset())
        if known is None or revocation.charger_ids is None:
            by_operator[revocation.operator_id] = None
        else:
            by_operator[revocation.operator_id] = known | revocation.charger_ids
    return [Revocation(operator_id=o, charger_ids=c) for o, c in by_operator.items()]
