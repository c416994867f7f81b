"""Chargers: the list, Charger settings (access mode) and Charger Scope (C1-C3)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from chargegroups.charger import service
from chargegroups.charger.schemas import ChargerPatch
from chargegroups.console.pages.pickers import account_choices
from chargegroups.console.web import (
    FORM_ERRORS,
    CurrentViewer,
    Db,
    FormState,
    Viewer,
    flash,
    page_router,
    read_form,
    redirect,
    render,
    service_errors,
    validation_errors,
)
from chargegroups.group import service as groups
from chargegroups.kit.pagination import MAX_LIMIT, PageRequest
from chargegroups.rate_plan import service as rate_plans
from chargegroups.rest.params import PathId as Id

router = page_router("/chargers")
ACCESS_MODES = [
    ("public", "Public — any driver with a valid token"),
    ("private", "Private — only members of a group in its scope"),
    ("closed", "Closed — no driver (maintenance)"),
]


@router.get("")
async def list_chargers(
    request: Request,
    db: Db,
    viewer: CurrentViewer,
    account_id: Annotated[str | None, Query(max_length=36)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    page = await service.list_chargers(
        db, viewer.subject, PageRequest(limit=25, cursor=cursor), account_id=account_id or None
    )
    accounts = await account_choices(db, viewer.subject)
    return render(
        request,
        "chargers.html",
        viewer=viewer,
        page=page,
        accounts=accounts,
        account_names=dict(accounts),
        filters={"account_id": account_id or "", "cursor": cursor},
        active="chargers",
    )


async def _charger_page(
    request: Request,
    db: Db,
    viewer: Viewer,
    charger_id: str,
    *,
    form: FormState | None = None,
    scope_form: FormState | None = None,
    status_code: int = 200,
) -> Response:
    charger = await service.visible_charger(db, viewer.subject, charger_id)
    scope = await service.list_scope(db, viewer.subject, charger_id)
    in_scope = {entry.group.id for entry in scope}
    visible = await groups.list_groups(db, viewer.subject, PageRequest(limit=MAX_LIMIT))
    # Offer the groups this viewer may link here; the service decides again on submit (C3).
    addable = [
        v.group
        for v in visible.items
        if v.group.id not in in_scope and service.may_manage_link(viewer.subject, charger, v.group)
    ]
    accounts = dict(await account_choices(db, viewer.subject))
    plans = await rate_plans.list_plans(db, viewer.subject, PageRequest(limit=MAX_LIMIT))
    return render(
        request,
        "charger.html",
        status_code,
        viewer=viewer,
        charger=charger,
        scope=scope,
        addable=addable,
        account_name=accounts.get(charger.account_id or ""),
        access_modes=ACCESS_MODES,
        may_set_access=viewer.subject.manages_account(charger.account_id),
        plan_choices=[(v.plan.id, v.plan.name) for v in plans.items],
        plan_names={v.plan.id: v.plan.name for v in plans.items},
        form=form
        or FormState(
            values={"access_mode": charger.access_mode, "rate_plan_id": charger.rate_plan_id or ""}
        ),
        scope_form=scope_form or FormState(),
        active="chargers",
    )


@router.get("/{charger_id}")
async def charger_detail(
    request: Request, db: Db, viewer: CurrentViewer, charger_id: Id
) -> Response:
    return await _charger_page(request, db, viewer, charger_id)


@router.post("/{charger_id}/access-mode")
async def set_access_mode(
    request: Request, db: Db, viewer: CurrentViewer, charger_id: Id
) -> Response:
    values = await read_form(request)
    try:
        patch = ChargerPatch.model_validate({"access_mode": values.get("access_mode", "")})
        await service.update_charger(
            db, viewer.subject, charger_id, patch.model_dump(exclude_unset=True)
        )
    except ValidationError as exc:
        problem = validation_errors(exc)
    except FORM_ERRORS as exc:
        await db.rollback()
        problem = service_errors(exc)
    else:
        flash(request, "Access mode saved.")
        return redirect(request, f"/chargers/{charger_id}")
    form = FormState(values=values, errors=problem)
    return await _charger_page(request, db, viewer, charger_id, form=form, status_code=422)


@router.post("/{charger_id}/rate-plan")
async def set_rate_plan(
    request: Request, db: Db, viewer: CurrentViewer, charger_id: Id
) -> Response:
    """The charger's rate-plan override (D4); empty: the account's or operator's default."""
    values = await read_form(request)
    try:
        patch = ChargerPatch.model_validate({"rate_plan_id": values.get("rate_plan_id") or None})
        await service.update_charger(
            db, viewer.subject, charger_id, patch.model_dump(exclude_unset=True)
        )
    except ValidationError as exc:
        problem = validation_errors(exc)
    except FORM_ERRORS as exc:
        await db.rollback()
        problem = service_errors(exc, {"unknown_rate_plan": "rate_plan_id"})
    else:
        flash(request, "Rate plan saved.")
        return redirect(request, f"/chargers/{charger_id}")
    form = FormState(values=values, errors=problem)
    return await _charger_page(request, db, viewer, charger_id, form=form, status_code=422)


@router.post("/{charger_id}/scope")
async def add_to_scope(request: Request, db: Db, viewer: CurrentViewer, charger_id: Id) -> Response:
    values = await read_form(request)
    group_id = values.get("group_id", "")
    if not group_id:
        form = FormState(values=values, errors={"group_id": "Choose a group."})
        return await _charger_page(
            request, db, viewer, charger_id, scope_form=form, status_code=422
        )
    try:
        await service.add_to_scope(db, viewer.subject, charger_id, group_id)
    except FORM_ERRORS as exc:
        await db.rollback()
        form = FormState(
            values=values, errors=service_errors(exc, {"concurrent_change": "group_id"})
        )
        return await _charger_page(
            request, db, viewer, charger_id, scope_form=form, status_code=422
        )
    flash(request, "Group added to the charger's scope.")
    return redirect(request, f"/chargers/{charger_id}")


@router.post("/{charger_id}/scope/{group_id}/remove")
async def remove_from_scope(
    request: Request, db: Db, viewer: CurrentViewer, charger_id: Id, group_id: Id
) -> Response:
    await service.remove_from_scope(db, viewer.subject, charger_id, group_id)
    flash(request, "Group removed from the charger's scope.")
    return redirect(request, f"/chargers/{charger_id}")
