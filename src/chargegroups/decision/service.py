"""The decision as every edge asks it: load the facts, apply the pure rules (D1-D9)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.auth.subject import AuthSubject
from chargegroups.database import Reads
from chargegroups.decision import loader, repository
from chargegroups.decision.loader import ChargerKey
from chargegroups.decision.rules import Decision, DecisionFacts, decide
from chargegroups.errors import NotFound
from chargegroups.kit import metrics
from chargegroups.kit.pagination import Page, PageRequest, paginate
from chargegroups.models import Charger

__all__ = [
    "decide_for_caller",
    "decide_for_token",
    "find_charger",
    "where_i_may_charge",
]

_OUT_OF_REACH = "No such charger, token or user."


async def decide_for_token(
    db: Reads,
    *,
    charger: Charger,
    token_uid: str,
    at: datetime,
    answered_at: datetime | None = None,
) -> Decision:
    """May the driver presenting ``token_uid`` charge at ``charger`` at ``at`` (OCPP Authorize)?

    Everything but the charger's id is read afresh, so a charger object held for a whole
    connection never answers with a stale access mode, scope or plan. ``db``: the read pool, or
    the session of a transaction that must see its own writes. ``answered_at``: see
    :class:`~chargegroups.decision.rules.DecisionFacts`.
    """
    facts = await loader.load_for_token(
        db, charger=_key(charger), token_uid=token_uid, at=at, answered_at=answered_at
    )
    return _counted(decide(_found(facts)))


def _counted(decision: Decision) -> Decision:
    metrics.count_decision(decision.allowed, decision.reason)
    return decision


def _key(charger: Charger) -> ChargerKey:
    return ChargerKey(charger.operator_id, charger_id=charger.id)


def _found(facts: DecisionFacts | None) -> DecisionFacts:
    if facts is None:
        raise NotFound("No such charger.")
    return facts


async def find_charger(
    session: AsyncSession,
    operator_id: str,
    *,
    charger_id: str | None = None,
    charge_point_id: str | None = None,
) -> Charger:
    charger = await repository.find_charger(
        session, operator_id, charger_id=charger_id, charge_point_id=charge_point_id
    )
    if charger is None:
        raise NotFound("No such charger.")
    return charger


async def decide_for_caller(
    db: Reads,
    subject: AuthSubject,
    *,
    charger_id: str | None,
    charge_point_id: str | None,
    token_uid: str | None,
    user_id: str | None,
    at: datetime,
) -> Decision:
    """``POST /decisions``: the decision, if the caller may ask it (R3: otherwise 404).

    Operator admins ask anything of their operator; for them an unknown token is ``Invalid``
    (D1). Everyone else asks only about drivers in reach, at any charger of the operator: an
    account admin about its accounts' drivers (to answer "why can't my driver charge there?"),
    a driver about itself. Reach applies to what the answer holds (the holder, its groups, its
    payer), so a token of a driver outside it, even at the admin's own charger, answers exactly
    as an unknown token does: the same 404, and the endpoint tells no one which tokens exist.

    The facts are loaded first, in the decision's one round trip, and the reach is checked on
    them before anything is answered; every refusal is the same 404.
    """
    key = ChargerKey(subject.operator_id, charger_id=charger_id, charge_point_id=charge_point_id)
    if token_uid is not None:
        facts = await loader.load_for_token(db, charger=key, token_uid=token_uid, at=at)
    else:
        assert user_id is not None
        facts = await loader.load_for_user(db, charger=key, user_id=user_id, at=at)
    facts = _found(facts)
    holder = facts.user  # the token's holder, or the user asked about; None if unknown
    if holder is None:
        if user_id is not None or not subject.is_operator_admin:
            raise NotFound(_OUT_OF_REACH)
    elif not (
        subject.is_operator_admin
        or holder.id == subject.user_id
        or holder.account_id in subject.admin_account_ids
    ):
        raise NotFound(_OUT_OF_REACH)
    return _counted(decide(facts))


async def where_i_may_charge(
    session: AsyncSession, subject: AuthSubject, page: PageRequest, *, at: datetime
) -> Page[tuple[Charger, Decision]]:
    """The caller's own answer to "where may I charge, and at what price?": a page of the
    chargers that accept it, each with its decision (discount, payer, rate plan) at ``at``."""
    candidates = await paginate(
        session,
        repository.chargers_open_to(subject.operator_id, subject.user_id, at),
        Charger.id,
        page,
    )
    facts = await loader.load_for_user_at_chargers(
        session,
        operator_id=subject.operator_id,
        charger_ids=[charger.id for charger in candidates.items],
        user_id=subject.user_id,
        at=at,
    )
    answers = [  # a charger deleted since the page was read has no facts
        (charger, decide(facts[charger.id])) for charger in candidates.items if charger.id in facts
    ]
    return Page(
        items=[(charger, d) for charger, d in answers if d.allowed],
        next_cursor=candidates.next_cursor,
    )
