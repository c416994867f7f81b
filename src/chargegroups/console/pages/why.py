""" "Why can (not) this driver charge here?": the decision and its trace in words (D9)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import Response

from chargegroups.charger import service as chargers
from chargegroups.console.pages.pickers import owner_choices
from chargegroups.console.web import CurrentViewer, Db, page_router, render
from chargegroups.decision import service
from chargegroups.decision.rules import explain
from chargegroups.kit.clock import utcnow
from chargegroups.kit.pagination import MAX_LIMIT, PageRequest

router = page_router("/why")
Param = Annotated[str | None, Query(max_length=64)]


@router.get("")
async def why(
    request: Request,
    db: Db,
    viewer: CurrentViewer,
    charger_id: Param = None,
    charge_point_id: Param = None,
    user_id: Param = None,
    token_uid: Param = None,
) -> Response:
    admin = viewer.subject.is_admin
    charger_choices = (
        [
            (c.id, f"{c.name} ({c.charge_point_id})")
            for c in (
                await chargers.list_chargers(db, viewer.subject, PageRequest(limit=MAX_LIMIT))
            ).items
        ]
        if admin
        else []
    )
    # A driver asks about itself; admins pick a driver or type a token.
    driver_choices = await owner_choices(db, viewer.subject, None) if admin else []
    if not admin:
        user_id, token_uid = viewer.subject.user_id, None
    decision = None
    asked = bool(charger_id or charge_point_id) and bool(user_id or token_uid)
    if asked:
        decision = await service.decide_for_caller(
            db,
            viewer.subject,
            charger_id=charger_id or None,
            charge_point_id=None if charger_id else charge_point_id,
            token_uid=None if user_id else token_uid,
            user_id=user_id or None,
            at=utcnow(),
        )
    return render(
        request,
        "why.html",
        viewer=viewer,
        decision=decision,
        explanation=explain(decision) if decision else [],
        charger_choices=charger_choices,
        driver_choices=driver_choices,
        values={
            "charger_id": charger_id or "",
            "charge_point_id": charge_point_id or "",
            "user_id": user_id or "",
            "token_uid": token_uid or "",
        },
        active="why",
    )
