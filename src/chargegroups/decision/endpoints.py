from __future__ import annotations

from fastapi import APIRouter

from chargegroups.decision import service
from chargegroups.decision.schemas import DecisionOut, DecisionRequest
from chargegroups.kit.clock import utcnow
from chargegroups.rest.deps import Db, Subject
from chargegroups.rest.schemas import PROBLEM_RESPONSES

router = APIRouter(prefix="/decisions", tags=["decisions"], responses=PROBLEM_RESPONSES)


@router.post("", response_model=DecisionOut)
async def post_decision(body: DecisionRequest, db: Db, subject: Subject) -> DecisionOut:
    """May this driver charge at this charger, at what discount, and who pays, and why (D1-D9)."""
    decision = await service.decide_for_caller(
        db,
        subject,
        charger_id=body.charger_id,
        charge_point_id=body.charge_point_id,
        token_uid=body.token_uid,
        user_id=body.user_id,
        at=body.at or utcnow(),
    )
    return DecisionOut.build(decision)
