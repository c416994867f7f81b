"""The decision as every edge asks it: load the facts, apply the pure rules (D1-D9)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.decision import loader
from chargegroups.decision.rules import Decision, DecisionFacts, decide
from chargegroups.errors import NotFound
from chargegroups.models import Charger

__all__ = ["decide_for_token", "decide_for_user"]


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
