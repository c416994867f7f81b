"""API shapes of group discounts and their delegation (G9); plan shapes are in ``schemas``."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, Field

from chargegroups.rate_plan.rules import Discount
from chargegroups.rate_plan.service import DelegationView, DiscountView
from chargegroups.rest.schemas import ApiModel


class GroupDiscountOut(BaseModel):
    rate_plan_id: str
    group_id: str
    group_name: str
    account_id: str | None  # None: a global group
    percent: str | None
    free: bool
    read_only: bool  # for the caller

    @classmethod
    def build(cls, view: DiscountView) -> GroupDiscountOut:
        row = view.discount
        discount = Discount.free() if row.free else Discount.percent(Decimal(row.percent or 0))
        return cls(
            rate_plan_id=row.rate_plan_id,
            group_id=row.group_id,
            group_name=view.group.name,
            account_id=view.group.account_id,
            percent=discount.to_dict().get("percent"),
            free=discount.is_free,
            read_only=view.read_only,
        )


class DelegationIn(ApiModel):
    """``PUT /accounts/{id}/discount-delegation``: the plans an account's admins may discount
    and the cap: ``max_percent``, or ``free_allowed`` (which allows every discount)."""

    rate_plan_ids: list[Annotated[str, Field(min_length=1, max_length=36)]] = Field(max_length=500)
    max_percent: Decimal | None = Field(
        default=None, gt=0, le=100, max_digits=5, decimal_places=2, allow_inf_nan=False
    )
    free_allowed: bool = False


class DelegationOut(BaseModel):
    account_id: str
    rate_plan_ids: list[str]
    max_percent: str | None
    free_allowed: bool

    @classmethod
    def build(cls, view: DelegationView) -> DelegationOut:
        cap = view.max_percent
        return cls(
            account_id=view.account_id,
            rate_plan_ids=view.rate_plan_ids,
            max_percent=None if cap is None else f"{cap.normalize():f}",
            free_allowed=view.free_allowed,
        )
