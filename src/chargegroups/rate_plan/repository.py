"""Rate plan queries, including D4: which plan applies at a charger."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, delete, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.database import Reads, fetch_rows
from chargegroups.models import (
    Account,
    Charger,
    DiscountDelegation,
    DiscountDelegationPlan,
    GroupDiscount,
    Operator,
    RatePlan,
    RatePlanVersion,
    UserGroup,
)


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


_VERSION_TERMS = select(RatePlanVersion.terms).where(
    RatePlanVersion.rate_plan_id == bindparam("rate_plan_id"),
    RatePlanVersion.version == bindparam("version"),
)


async def version_terms(db: Reads, rate_plan_id: str, version: int) -> dict[str, Any]:
    """The terms of one version (a decision's plan summary), read on the decision's path."""
    rows = await fetch_rows(db, _VERSION_TERMS, {"rate_plan_id": rate_plan_id, "version": version})
    terms = rows[0][0]  # a version named by a plan's current_version always exists
    # Raw from the driver: psycopg parses JSON, asyncpg and sqlite3 hand back its text.
    parsed: dict[str, Any] = json.loads(terms) if isinstance(terms, str) else terms
    return parsed


def scoped_plans(operator_id: str) -> Select[Any]:
    """Every rate plan query starts here: plans of the caller's operator only (R3)."""
    return select(RatePlan).where(RatePlan.operator_id == operator_id)


async def find_plan(session: AsyncSession, operator_id: str, plan_id: str) -> RatePlan | None:
    found: RatePlan | None = (
        await session.execute(scoped_plans(operator_id).where(RatePlan.id == plan_id))
    ).scalar_one_or_none()
    return found


async def find_version(
    session: AsyncSession, rate_plan_id: str, version: int
) -> RatePlanVersion | None:
    stmt = select(RatePlanVersion).where(
        RatePlanVersion.rate_plan_id == rate_plan_id, RatePlanVersion.version == version
    )
    found: RatePlanVersion | None = (await session.execute(stmt)).scalar_one_or_none()
    return found


async def current_versions(
    session: AsyncSession, plans: Sequence[RatePlan]
) -> dict[str, RatePlanVersion]:
    """The current version of each plan, by plan id, in one query."""
    if not plans:
        return {}
    stmt = select(RatePlanVersion).where(
        tuple_(RatePlanVersion.rate_plan_id, RatePlanVersion.version).in_(
            [(p.id, p.current_version) for p in plans]
        )
    )
    return {v.rate_plan_id: v for v in (await session.execute(stmt)).scalars()}


async def name_taken(
    session: AsyncSession, operator_id: str, name_normalized: str, *, but: str | None = None
) -> bool:
    stmt = scoped_plans(operator_id).where(RatePlan.name_normalized == name_normalized)
    if but is not None:
        stmt = stmt.where(RatePlan.id != but)
    return (await session.execute(stmt.limit(1))).first() is not None


async def existing_plan_ids(
    session: AsyncSession, operator_id: str, plan_ids: Iterable[str]
) -> set[str]:
    stmt = select(RatePlan.id).where(
        RatePlan.operator_id == operator_id, RatePlan.id.in_(list(plan_ids))
    )
    return set((await session.execute(stmt)).scalars())


def discounts_on(plan_id: str) -> Select[Any]:
    return select(GroupDiscount).where(GroupDiscount.rate_plan_id == plan_id)


async def find_discount(session: AsyncSession, plan_id: str, group_id: str) -> GroupDiscount | None:
    return await session.get(GroupDiscount, (plan_id, group_id))


async def group_names(session: AsyncSession, group_ids: Iterable[str]) -> dict[str, UserGroup]:
    stmt = select(UserGroup).where(UserGroup.id.in_(list(group_ids)))
    return {g.id: g for g in (await session.execute(stmt)).scalars()}


async def find_account(session: AsyncSession, operator_id: str, account_id: str) -> Account | None:
    stmt = select(Account).where(Account.id == account_id, Account.operator_id == operator_id)
    found: Account | None = (await session.execute(stmt)).scalar_one_or_none()
    return found


async def delegation_of(
    session: AsyncSession, account_id: str
) -> tuple[DiscountDelegation, set[str]] | None:
    """The account's discount delegation and the plans it names, if the operator made one."""
    delegation = await session.get(DiscountDelegation, account_id)
    if delegation is None:
        return None
    stmt = select(DiscountDelegationPlan.rate_plan_id).where(
        DiscountDelegationPlan.account_id == account_id
    )
    return delegation, set((await session.execute(stmt)).scalars())


async def replace_delegation_plans(
    session: AsyncSession, account_id: str, plan_ids: Iterable[str]
) -> None:
    await session.execute(
        delete(DiscountDelegationPlan).where(DiscountDelegationPlan.account_id == account_id)
    )
    session.add_all(
        DiscountDelegationPlan(account_id=account_id, rate_plan_id=plan_id) for plan_id in plan_ids
    )
    await session.flush()
