"""Operator Settings: the operator's own name, self sign-up, authorization-cache lifetime and
maximum session duration."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response
from pydantic import ValidationError

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
from chargegroups.kit.pagination import MAX_LIMIT, PageRequest
from chargegroups.operator import service
from chargegroups.operator.schemas import OperatorPatch
from chargegroups.rate_plan import service as rate_plans

router = page_router("/settings")
FIELDS_BY_CODE = {"invalid_timezone": "timezone", "unknown_rate_plan": "default_rate_plan_id"}


def _patch_from(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": values.get("name", ""),
        "timezone": values.get("timezone", ""),
        "auth_cache_ttl_seconds": values.get("auth_cache_ttl_seconds", ""),
        "max_session_hours": values.get("max_session_hours", ""),
        # An unticked checkbox sends nothing.
        "self_signup_enabled": values.get("self_signup_enabled") == "on",
        "default_rate_plan_id": values.get("default_rate_plan_id") or None,
    }


@router.get("")
async def settings_page(request: Request, db: Db, viewer: CurrentViewer) -> Response:
    operator = await service.get_operator(db, viewer.subject)
    form = FormState(values={c: getattr(operator, c) for c in OperatorPatch.model_fields})
    return render(
        request,
        "settings.html",
        viewer=viewer,
        operator=operator,
        form=form,
        plans=await _plan_choices(db, viewer),
        active="settings",
    )


async def _plan_choices(db: Db, viewer: Viewer) -> list[tuple[str, str]]:
    page = await rate_plans.list_plans(db, viewer.subject, PageRequest(limit=MAX_LIMIT))
    return [(v.plan.id, v.plan.name) for v in page.items]


@router.post("")
async def settings_submit(request: Request, db: Db, viewer: CurrentViewer) -> Response:
    values = _patch_from(await read_form(request))
    try:
        patch = OperatorPatch.model_validate(values)
        await service.update_operator(db, viewer.subject, patch.model_dump(exclude_unset=True))
    except ValidationError as exc:
        problem = validation_errors(exc)
    except FORM_ERRORS as exc:
        await db.rollback()
        problem = service_errors(exc, FIELDS_BY_CODE)
    else:
        flash(request, "Operator settings saved.")
        return redirect(request, "/settings")
    operator = await service.get_operator(db, viewer.subject)
    return render(
        request,
        "settings.html",
        422,
        viewer=viewer,
        operator=operator,
        form=FormState(values=values, errors=problem),
        plans=await _plan_choices(db, viewer),
        active="settings",
    )
