from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import ValidationError

from chargegroups.errors import InvalidInput
from chargegroups.rate_plan import ocpi, service
from chargegroups.rate_plan.discount_schemas import (
    DelegationIn,
    DelegationOut,
    GroupDiscountOut,
)
from chargegroups.rate_plan.rules import RatePlanTerms
from chargegroups.rate_plan.schemas import DiscountIn, RatePlanIn, RatePlanOut, RatePlanUpdate
from chargegroups.rest.deps import Db, Page, Subject
from chargegroups.rest.schemas import PROBLEM_RESPONSES, PageOut

# Versions are counted from 1 in a 32-bit column: a larger one names none, and would overflow
# SQLite's integers before the database could say so.
MAX_VERSION = 2**31 - 1

router = APIRouter(prefix="/rate-plans", tags=["rate plans"], responses=PROBLEM_RESPONSES)
delegation_router = APIRouter(prefix="/accounts", tags=["rate plans"], responses=PROBLEM_RESPONSES)


def _out(found: service.PlanVersion) -> RatePlanOut:
    return RatePlanOut.build(
        id=found.plan.id, version=found.version.version, name=found.plan.name, terms=found.terms
    )


@router.get("", response_model=PageOut[RatePlanOut])
async def list_rate_plans(db: Db, subject: Subject, page: Page) -> PageOut[RatePlanOut]:
    """The operator's rate plans."""
    found = await service.list_plans(db, subject, page)
    return PageOut(items=[_out(p) for p in found.items], next_cursor=found.next_cursor)


@router.post("", response_model=RatePlanOut, status_code=201)
async def create_rate_plan(body: RatePlanIn, db: Db, subject: Subject) -> RatePlanOut:
    """A new rate plan (energy, session and idle fees)."""
    return _out(await service.create_plan(db, subject, name=body.name, terms=body.to_terms()))


@router.get("/{plan_id}", response_model=RatePlanOut)
async def read_rate_plan(
    plan_id: str,
    db: Db,
    subject: Subject,
    version: Annotated[
        int | None, Query(ge=1, le=MAX_VERSION, description="An earlier version")
    ] = None,
) -> RatePlanOut:
    """One rate plan, at its current or a given version."""
    return _out(await service.get_plan(db, subject, plan_id, version=version))


@router.patch("/{plan_id}", response_model=RatePlanOut)
async def patch_rate_plan(
    plan_id: str, body: RatePlanUpdate, db: Db, subject: Subject
) -> RatePlanOut:
    """Any change makes a new version; earlier versions stay readable (``?version=``)."""
    change: Callable[[RatePlanTerms], RatePlanTerms] | None = None
    if body.model_fields_set - {"name"}:

        def change(terms: RatePlanTerms) -> RatePlanTerms:
            try:
                return body.apply(terms)
            except ValidationError as exc:
                raise InvalidInput(f"The changed terms are not valid: {exc}") from None

    return _out(
        await service.update_plan(db, subject, plan_id, name=body.name, change_terms=change)
    )


@router.get("/{plan_id}/ocpi", response_class=Response)
async def read_rate_plan_ocpi(plan_id: str, db: Db, subject: Subject) -> Response:
    """The current version as an OCPI 2.2.1 Tariff object (prices as JSON numbers)."""
    tariff = await service.ocpi_tariff(db, subject, plan_id)
    return Response(content=ocpi.dumps(tariff), media_type="application/json")


@router.get("/{plan_id}/group-discounts", response_model=PageOut[GroupDiscountOut])
async def list_group_discounts(
    plan_id: str, db: Db, subject: Subject, page: Page
) -> PageOut[GroupDiscountOut]:
    """The group discounts on a rate plan."""
    found = await service.list_discounts(db, subject, plan_id, page)
    return PageOut(
        items=[GroupDiscountOut.build(d) for d in found.items], next_cursor=found.next_cursor
    )


@router.put("/{plan_id}/group-discounts/{group_id}", response_model=GroupDiscountOut)
async def put_group_discount(
    plan_id: str, group_id: str, body: DiscountIn, db: Db, subject: Subject
) -> GroupDiscountOut:
    """Set a group's discount on a rate plan (within what the operator delegates to the account)."""
    view = await service.set_discount(db, subject, plan_id, group_id, body.to_discount())
    return GroupDiscountOut.build(view)


@router.delete("/{plan_id}/group-discounts/{group_id}", status_code=204)
async def delete_group_discount(plan_id: str, group_id: str, db: Db, subject: Subject) -> Response:
    """Remove a group's discount from a rate plan."""
    await service.remove_discount(db, subject, plan_id, group_id)
    return Response(status_code=204)


@delegation_router.get("/{account_id}/discount-delegation", response_model=DelegationOut)
async def read_discount_delegation(account_id: str, db: Db, subject: Subject) -> DelegationOut:
    """How far the account's admins may discount the operator's rate plans for their groups."""
    return DelegationOut.build(await service.get_delegation(db, subject, account_id))


@delegation_router.put("/{account_id}/discount-delegation", response_model=DelegationOut)
async def put_discount_delegation(
    account_id: str, body: DelegationIn, db: Db, subject: Subject
) -> DelegationOut:
    """Set how far the account's admins may discount (operator admins)."""
    view = await service.set_delegation(
        db,
        subject,
        account_id,
        rate_plan_ids=body.rate_plan_ids,
        max_percent=body.max_percent,
        free_allowed=body.free_allowed,
    )
    return DelegationOut.build(view)
