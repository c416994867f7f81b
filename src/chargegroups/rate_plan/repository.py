"""Rate plan queries, including D4: which plan applies at a charger."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.models import Account, Charger, Operator, RatePlan, RatePlanVersion


def rate_plan_id_at_charger() -> ColumnElement[Any]:
    """D4 as a SQL expression: the charger's override, else its owning account's default, else
    the operator's default. Use it over :func:`charger_plan_from`'s joins."""
    return func.coalesce(
        Charger.rate_plan_id, Account.default_rate_plan_id, Operator.default_rate_plan_id
    )


def charger_plan_from(stmt: Select[Any]) -> Select[Any]:
    """Add to ``stmt`` (selecting from ``Charger``) the joins D4 needs and the resolved plan."""
    return (
        stmt.join(Operator, Operator.id == Charger.operator_id)
        .outerjoin(Account, Account.id == Charger.account_id)
        .outerjoin(RatePlan, RatePlan.id == rate_plan_id_at_charger())
    )


async def rate_plan_at_charger(session: AsyncSession, charger_id: str) -> RatePlanVersion | None:
    """The current version of the rate plan that applies at this charger (D4), if any."""
    stmt = charger_plan_from(select(RatePlanVersion).select_from(Charger)).join(
        RatePlanVersion,
        (RatePlanVersion.rate_plan_id == RatePlan.id)
        & (RatePlanVersion.version == RatePlan.current_version),
    )
    found: RatePlanVersion | None = (
        await session.execute(stmt.where(Charger.id == charger_id))
    ).scalar_one_or_none()
    return found


async def version_terms(session: AsyncSession, rate_plan_id: str, version: int) -> dict[str, Any]:
    stmt = select(RatePlanVersion.terms).where(
        RatePlanVersion.rate_plan_id == rate_plan_id, RatePlanVersion.version == version
    )
    terms: dict[str, Any] = (await session.execute(stmt)).scalar_one()
    return terms
