"""Rate plans and their group discounts (G9); account admins within their delegation."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import Query, Request
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
from chargegroups.errors import NotPermitted
from chargegroups.group import service as groups
from chargegroups.kit.pagination import MAX_LIMIT, PageRequest
from chargegroups.rate_plan import service
from chargegroups.rate_plan.rules import Discount, summary
from chargegroups.rate_plan.schemas import DiscountIn
from chargegroups.rest.params import PathId as Id

router = page_router("/rate-plans")


def discount_label(percent: Decimal | None, free: bool) -> str:
    return (Discount.free() if free else Discount.percent(Decimal(percent or 0))).label()


@router.get("")
async def list_plans(
    request: Request,
    db: Db,
    viewer: CurrentViewer,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    page = await service.list_plans(db, viewer.subject, PageRequest(limit=25, cursor=cursor))
    return render(
        request,
        "rate_plans.html",
        viewer=viewer,
        page=page,
        summaries={v.plan.id: summary(v.terms) for v in page.items},
        filters={"cursor": cursor},
        active="rate_plans",
    )


async def _plan_page(
    request: Request,
    db: Db,
    viewer: Viewer,
    plan_id: str,
    *,
    form: FormState | None = None,
    status_code: int = 200,
) -> Response:
    plan = await service.get_plan(db, viewer.subject, plan_id)
    discounts = await service.list_discounts(
        db, viewer.subject, plan_id, PageRequest(limit=MAX_LIMIT)
    )
    visible = await groups.list_groups(db, viewer.subject, PageRequest(limit=MAX_LIMIT))
    return render(
        request,
        "rate_plan.html",
        status_code,
        viewer=viewer,
        plan=plan,
        plan_summary=summary(plan.terms),
        discounts=discounts.items,
        labels={
            d.discount.group_id: discount_label(d.discount.percent, d.discount.free)
            for d in discounts.items
        },
        group_choices=[(v.group.id, v.group.name) for v in visible.items if not v.read_only],
        form=form or FormState(values={"kind": "percent"}),
        active="rate_plans",
    )


@router.get("/{plan_id}")
async def plan_detail(request: Request, db: Db, viewer: CurrentViewer, plan_id: Id) -> Response:
    return await _plan_page(request, db, viewer, plan_id)


@router.post("/{plan_id}/discounts")
async def set_discount(request: Request, db: Db, viewer: CurrentViewer, plan_id: Id) -> Response:
    values = await read_form(request)
    free = values.get("kind") == "free"
    status_code = 422
    try:
        body = DiscountIn.model_validate(
            {"free": True} if free else {"percent": values.get("percent", "")}
        )
        await service.set_discount(
            db, viewer.subject, plan_id, values.get("group_id", ""), body.to_discount()
        )
    except ValidationError as exc:
        problem = validation_errors(exc)
        problem.setdefault(
            "percent", problem.pop("_form", "Enter a percentage above 0, up to 100.")
        )
    except NotPermitted as exc:
        if exc.code != "discount_above_cap":
            raise
        await db.rollback()
        problem, status_code = {"percent": exc.detail}, 403
    except FORM_ERRORS as exc:
        await db.rollback()
        problem = service_errors(exc)
    else:
        flash(request, "Group discount saved.")
        return redirect(request, f"/rate-plans/{plan_id}")
    form = FormState(values=values, errors=problem)
    return await _plan_page(request, db, viewer, plan_id, form=form, status_code=status_code)


@router.post("/{plan_id}/discounts/{group_id}/remove")
async def remove_discount(
    request: Request, db: Db, viewer: CurrentViewer, plan_id: Id, group_id: Id
) -> Response:
    await service.remove_discount(db, viewer.subject, plan_id, group_id)
    flash(request, "Group discount removed.")
    return redirect(request, f"/rate-plans/{plan_id}")
