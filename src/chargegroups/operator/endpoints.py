from __future__ import annotations

from fastapi import APIRouter

from chargegroups.operator import service
from chargegroups.operator.schemas import OperatorOut, OperatorPatch
from chargegroups.rest.deps import Db, Subject
from chargegroups.rest.schemas import PROBLEM_RESPONSES

router = APIRouter(prefix="/operator", tags=["operator"], responses=PROBLEM_RESPONSES)


@router.get("", response_model=OperatorOut)
async def read_operator(db: Db, subject: Subject) -> OperatorOut:
    """The caller's operator and its settings."""
    return OperatorOut.model_validate(await service.get_operator(db, subject))


@router.patch("", response_model=OperatorOut)
async def patch_operator(body: OperatorPatch, db: Db, subject: Subject) -> OperatorOut:
    """Change the operator's settings (operator admins)."""
    changes = body.model_dump(exclude_unset=True)
    return OperatorOut.model_validate(await service.update_operator(db, subject, changes))
