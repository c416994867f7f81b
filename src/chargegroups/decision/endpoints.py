from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic_core import to_json

from chargegroups.decision import service
from chargegroups.decision.schemas import DecisionOut, DecisionRequest, decision_body
from chargegroups.kit.clock import utcnow
from chargegroups.rest.deps import BEARER_SECURITY, authenticated_reads
from chargegroups.rest.schemas import PROBLEM_RESPONSES

router = APIRouter(prefix="/decisions", tags=["decisions"], responses=PROBLEM_RESPONSES)


@router.post("", response_model=DecisionOut, openapi_extra=BEARER_SECURITY)
async def post_decision(body: DecisionRequest, request: Request) -> Response:
    """May this driver charge at this charger, at what discount, and who pays, and why (D1-D9)."""
    reads, subject = await authenticated_reads(request)
    decision = await service.decide_for_caller(
        reads,
        subject,
        charger_id=body.charger_id,
        charge_point_id=body.charge_point_id,
        token_uid=body.token_uid,
        user_id=body.user_id,
        at=body.at or utcnow(),
    )
    # Written once, here: FastAPI would validate the answer against DecisionOut first.
    return Response(to_json(decision_body(decision)), media_type="application/json")
