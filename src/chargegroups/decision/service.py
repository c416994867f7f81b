"""The decision as every edge asks it: load the facts, apply the pure rules (D1-D9)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.auth.subject import AuthSubject
from chargegroups.decision import loader, repository
from chargegroups.decision.rules import Decision, DecisionFacts, decide
from chargegroups.errors import NotFound
from chargegroups.kit.pagination import Page, PageRequest, paginate
from chargegroups.models import Charger

__all__ = [
    "decide_for_caller",
    "decide_for_token",
    "decide_for_user",
    "find_charger",
    "where_i_may_charge",
]

_OUT_OF_REACH = "No such charger, token or user."


async def decide_for_token(
    session: AsyncSession, *, charger: Charger, token_uid: str, at: datetime
) -> Decision:
    """May the driver presenting ``token_uid`` charge at ``charger`` at ``at`` (OCPP Authorize)?

    Everything but the charger's id is read afresh, so a charger object held for a whole
    connection never answers with a stale access mode, scope or plan.
    """
    facts = await loader.load_for_token(session, charger_id=charger.id, token_uid=token_uid, at=at)
    return decide(_found(facts))


async def decide_for_user(
    session: AsyncSession, *, charger: Charger, user_id: str, at: datetime
) -> Decision:
    """May this user charge at ``charger`` at ``at``, whatever token it presents?"""
    facts = await loader.load_for_user(session, charger_id=charger.id, user_id=user_id, at=at)
    return decide(_found(facts))


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
    session: AsyncSession,
    subject: AuthSubject,
    *,
    charger_id: str | None,
    charge_point_id: str | None,
    token_uid: str | None,
    user_id: str | None,
    at: datetime,
) -> Decision:
    """``POST /decisions``: the decision, if the caller may ask it (R3: otherwise 404).

    Operator admins ask anything of their operator. Account admins ask about the chargers their
    accounts own (any token or user) and about their accounts' drivers at any charger (to answer
    "why can't my driver charge there?"). A driver asks only about itself, at any charger.
    """
    charger = await find_charger(
        session, subject.operator_id, charger_id=charger_id, charge_point_id=charge_point_id
    )
    holder: tuple[str, str] | None = None  # (user id, account id) the decision is about
    if user_id is not None:
        account_id = await repository.user_account(session, subject.operator_id, user_id)
        if account_id is None:
            raise NotFound(_OUT_OF_REACH)
        holder = (user_id, account_id)
    if not subject.manages_account(charger.account_id):
        if token_uid is not None:
            holder = await repository.token_owner(session, subject.operator_id, token_uid)
        if holder is None or not (
            holder[0] == subject.user_id or holder[1] in subject.admin_account_ids
        ):
            raise NotFound(_OUT_OF_REACH)
    if token_uid is not None:
        return await decide_for_token(session, charger=charger, token_uid=token_uid, at=at)
    assert user_id is not None
    return await decide_for_user(session, charger=charger, user_id=user_id, at=at)


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
    answers = [
        (charger, await decide_for_user(session, charger=charger, user_id=subject.user_id, at=at))
        for charger in candidates.items
    ]
    return Page(
        items=[(charger, d) for charger, d in answers if d.allowed],
        next_cursor=candidates.next_cursor,
    )
