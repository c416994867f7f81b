"""Rate plans (versioned), group discounts (G9) and their delegation to account admins.

Every change to a plan writes a new immutable version row and moves ``current_version``: a
session keeps the version it started under. Discounts and delegations are not access: changing
or removing one never revokes anything, so no charger cache is cleared.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import String
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.audit.service import record_change
from chargegroups.auth.subject import AuthSubject
from chargegroups.errors import Conflict, InvalidInput, NotFound, NotPermitted
from chargegroups.group import repository as group_repository
from chargegroups.group.service import is_read_only, manageable_group
from chargegroups.kit.pagination import Page, PageRequest, paginate
from chargegroups.models import (
    DiscountDelegation,
    GroupDiscount,
    Operator,
    RatePlan,
    RatePlanVersion,
    UserGroup,
)
from chargegroups.rate_plan import ocpi, repository
from chargegroups.rate_plan.rules import Discount, RatePlanTerms, terms_from_dict, terms_to_dict

_NO_PLAN = "No such rate plan."
_NAME_TYPE = RatePlan.__table__.c.name.type
_NAME_MAX = _NAME_TYPE.length if isinstance(_NAME_TYPE, String) and _NAME_TYPE.length else 120


@dataclass(frozen=True, slots=True)
class PlanVersion:
    plan: RatePlan
    version: RatePlanVersion
    terms: RatePlanTerms


@dataclass(frozen=True, slots=True)
class DiscountView:
    discount: GroupDiscount
    group: UserGroup
    read_only: bool  # for the caller


@dataclass(frozen=True, slots=True)
class DelegationView:
    account_id: str
    rate_plan_ids: list[str]
    max_percent: Decimal | None
    free_allowed: bool


def normalize_name(name: str) -> str:
    """Plan names are unique per operator, case-insensitively."""
    return name.strip().lower()


def _checked_name(name: str) -> str:
    # The column holds 120 characters; the request shape allows more.
    name = name.strip()
    if not name or len(name) > _NAME_MAX:
        raise InvalidInput(
            f"A rate plan name has 1 to {_NAME_MAX} characters.", code="invalid_name"
        )
    return name


# --------------------------------------------------------------------------- rate plans


def _require_operator_admin(subject: AuthSubject) -> None:
    if not subject.is_operator_admin:
        raise NotPermitted("Only operator admins change rate plans.")


async def _plan(session: AsyncSession, subject: AuthSubject, plan_id: str) -> RatePlan:
    plan = await repository.find_plan(session, subject.operator_id, plan_id)
    if plan is None:
        raise NotFound(_NO_PLAN)
    return plan


def _view(plan: RatePlan, version: RatePlanVersion) -> PlanVersion:
    return PlanVersion(plan, version, terms_from_dict(version.terms))


async def list_plans(
    session: AsyncSession, subject: AuthSubject, page: PageRequest
) -> Page[PlanVersion]:
    """Every user of the operator reads its rate plans (their current versions)."""
    found = await paginate(session, repository.scoped_plans(subject.operator_id), RatePlan.id, page)
    versions = await repository.current_versions(session, found.items)
    return Page([_view(p, versions[p.id]) for p in found.items], found.next_cursor)


async def get_plan(
    session: AsyncSession, subject: AuthSubject, plan_id: str, *, version: int | None = None
) -> PlanVersion:
    """The current version, or an earlier one: versions stay readable for old sessions."""
    plan = await _plan(session, subject, plan_id)
    row = await repository.find_version(session, plan.id, version or plan.current_version)
    if row is None:
        raise NotFound(f"Rate plan {plan.id} has no version {version}.")
    return _view(plan, row)


async def create_plan(
    session: AsyncSession, subject: AuthSubject, *, name: str, terms: RatePlanTerms
) -> PlanVersion:
    _require_operator_admin(subject)
    name = _checked_name(name)
    if await repository.name_taken(session, subject.operator_id, normalize_name(name)):
        raise Conflict(f"A rate plan named {name!r} exists already.", code="name_taken")
    plan = RatePlan(
        operator_id=subject.operator_id,
        name=name,
        name_normalized=normalize_name(name),
        currency=terms.currency,
        current_version=1,
    )
    session.add(plan)
    await session.flush()
    version = await _add_version(session, subject, plan, terms)
    await record_change(
        session,
        subject.actor,
        "rate_plan.created",
        target_type="rate_plan",
        target_id=plan.id,
        operator_id=subject.operator_id,
        after=_audit_shape(plan, version),
    )
    return _view(plan, version)


async def update_plan(
    session: AsyncSession,
    subject: AuthSubject,
    plan_id: str,
    *,
    name: str | None,
    change_terms: Callable[[RatePlanTerms], RatePlanTerms] | None,
) -> PlanVersion:
    """Any change (terms or name) makes the next version; the earlier ones stay as they were."""
    _require_operator_admin(subject)
    current = await get_plan(session, subject, plan_id)
    if name is None and change_terms is None:
        return current  # nothing sent, nothing changed: no new version
    plan = current.plan
    before = _audit_shape(plan, current.version)
    if name is not None:
        name = _checked_name(name)
        taken = await repository.name_taken(
            session, subject.operator_id, normalize_name(name), but=plan.id
        )
        if taken:
            raise Conflict(f"A rate plan named {name!r} exists already.", code="name_taken")
        plan.name = name
        plan.name_normalized = normalize_name(name)
    terms = change_terms(current.terms) if change_terms is not None else current.terms
    plan.currency = terms.currency
    plan.current_version = current.version.version + 1
    version = await _add_version(session, subject, plan, terms)
    await record_change(
        session,
        subject.actor,
        "rate_plan.updated",
        target_type="rate_plan",
        target_id=plan.id,
        operator_id=subject.operator_id,
        before=before,
        after=_audit_shape(plan, version),
    )
    return _view(plan, version)


async def _add_version(
    session: AsyncSession, subject: AuthSubject, plan: RatePlan, terms: RatePlanTerms
) -> RatePlanVersion:
    # A concurrent change to the same plan collides on (rate_plan_id, version): one wins, the
    # other gets a 409 from the database's unique key.
    version = RatePlanVersion(
        rate_plan_id=plan.id,
        version=plan.current_version,
        terms=terms_to_dict(terms),
        created_by_id=subject.user_id,
    )
    session.add(version)
    await session.flush()
    return version


def _audit_shape(plan: RatePlan, version: RatePlanVersion) -> dict[str, Any]:
    return {"name": plan.name, "version": version.version, "terms": version.terms}


async def ocpi_tariff(session: AsyncSession, subject: AuthSubject, plan_id: str) -> dict[str, Any]:
    """The OCPI 2.2.1 Tariff of the plan's current version, published by the operator's party."""
    current = await get_plan(session, subject, plan_id)
    operator = await session.get_one(Operator, subject.operator_id)
    try:
        return ocpi.to_ocpi_tariff(
            current.terms,
            tariff_id=current.plan.id,
            country_code=operator.ocpi_country_code,
            party_id=operator.ocpi_party_id,
            last_updated=current.version.created_at,
            version=current.version.version,
        )
    except ValueError as exc:
        raise Conflict(f"The operator's OCPI party is not valid: {exc}.", code="ocpi") from None


# --------------------------------------------------------------------------- group discounts


async def _delegated(
    session: AsyncSession, subject: AuthSubject, plan: RatePlan, group: UserGroup
) -> DiscountDelegation | None:
    """The delegation an account admin acts under (None for operator admins)."""
    if subject.is_operator_admin:
        return None
    assert group.account_id is not None
    found = await repository.delegation_of(session, group.account_id)
    if found is None or plan.id not in found[1]:
        raise NotPermitted(
            "The operator has not delegated discounts on this rate plan to this account.",
            code="plan_not_delegated",
        )
    return found[0]


def _within_cap(delegation: DiscountDelegation, discount: Discount) -> bool:
    if delegation.free_allowed:
        return True  # free beats every percentage: nothing is above that cap
    if discount.percentage is None:
        return False
    cap = delegation.max_percent
    return cap is not None and discount.percentage <= cap


async def list_discounts(
    session: AsyncSession, subject: AuthSubject, plan_id: str, page: PageRequest
) -> Page[DiscountView]:
    plan = await _plan(session, subject, plan_id)
    stmt = (
        repository.discounts_on(plan.id)
        .join(UserGroup, UserGroup.id == GroupDiscount.group_id)
        .where(UserGroup.operator_id == subject.operator_id)
    )
    stmt = stmt.where(group_repository.visible_to(subject))
    found = await paginate(session, stmt, GroupDiscount.group_id, page)
    groups = await repository.group_names(session, [d.group_id for d in found.items])
    return Page(
        [
            DiscountView(d, groups[d.group_id], is_read_only(subject, groups[d.group_id]))
            for d in found.items
        ],
        found.next_cursor,
    )


async def set_discount(
    session: AsyncSession, subject: AuthSubject, plan_id: str, group_id: str, discount: Discount
) -> DiscountView:
    """Set a group's discount on a plan (G9); account admins within their delegation's cap."""
    plan = await _plan(session, subject, plan_id)
    group = await manageable_group(session, subject, group_id)
    delegation = await _delegated(session, subject, plan, group)
    if delegation is not None and not _within_cap(delegation, discount):
        raise NotPermitted(
            f"A {discount.label()} discount is above this account's cap.",
            code="discount_above_cap",
        )
    row = await repository.find_discount(session, plan.id, group.id)
    before = _discount_shape(row) if row is not None else None
    if row is None:
        row = GroupDiscount(rate_plan_id=plan.id, group_id=group.id, operator_id=plan.operator_id)
        session.add(row)
    row.percent = discount.percentage
    row.free = discount.is_free
    row.set_by_id = subject.user_id
    await session.flush()
    await record_change(
        session,
        subject.actor,
        "group_discount.set",
        target_type="group",
        target_id=group.id,
        operator_id=subject.operator_id,
        account_id=group.account_id,
        before=before,
        after=_discount_shape(row),
    )
    return DiscountView(row, group, read_only=False)


async def remove_discount(
    session: AsyncSession, subject: AuthSubject, plan_id: str, group_id: str
) -> None:
    plan = await _plan(session, subject, plan_id)
    group = await manageable_group(session, subject, group_id)
    await _delegated(session, subject, plan, group)
    row = await repository.find_discount(session, plan.id, group.id)
    if row is None:
        raise NotFound("This group has no discount on this rate plan.")
    before = _discount_shape(row)
    await session.delete(row)
    await session.flush()
    await record_change(
        session,
        subject.actor,
        "group_discount.removed",
        target_type="group",
        target_id=group.id,
        operator_id=subject.operator_id,
        account_id=group.account_id,
        before=before,
    )


def _discount_shape(row: GroupDiscount) -> dict[str, Any]:
    discount = Discount.free() if row.free else Discount.percent(Decimal(row.percent or 0))
    return {"rate_plan_id": row.rate_plan_id, **discount.to_dict()}


# --------------------------------------------------------------------------- delegation


async def get_delegation(
    session: AsyncSession, subject: AuthSubject, account_id: str
) -> DelegationView:
    account = await repository.find_account(session, subject.operator_id, account_id)
    if account is None or not subject.manages_account(account.id):
        raise NotFound("No such account.")
    found = await repository.delegation_of(session, account.id)
    if found is None:
        return DelegationView(account.id, [], None, False)
    return DelegationView(account.id, sorted(found[1]), found[0].max_percent, found[0].free_allowed)


async def set_delegation(
    session: AsyncSession,
    subject: AuthSubject,
    account_id: str,
    *,
    rate_plan_ids: Sequence[str],
    max_percent: Decimal | None,
    free_allowed: bool,
) -> DelegationView:
    """Replace what the account's admins may apply as discounts (G9). Narrowing it leaves the
    discounts they already set in place; the operator removes those it no longer wants."""
    before = await get_delegation(session, subject, account_id)
    if not subject.is_operator_admin:
        raise NotPermitted("Only operator admins delegate discounts.")
    plan_ids = sorted(set(rate_plan_ids))
    unknown = set(plan_ids) - await repository.existing_plan_ids(
        session, subject.operator_id, plan_ids
    )
    if unknown:
        raise InvalidInput(
            f"No such rate plan: {', '.join(sorted(unknown))}.", code="unknown_rate_plan"
        )
    if plan_ids and max_percent is None and not free_allowed:
        raise InvalidInput(
            "Name a cap: max_percent, or free_allowed.", code="discount_cap_required"
        )
    delegation = await session.get(DiscountDelegation, account_id)
    if delegation is None:
        delegation = DiscountDelegation(account_id=account_id, operator_id=subject.operator_id)
        session.add(delegation)
    delegation.max_percent = max_percent
    delegation.free_allowed = free_allowed
    await session.flush()
    await repository.replace_delegation_plans(session, account_id, plan_ids)
    after = DelegationView(account_id, plan_ids, max_percent, free_allowed)
    await record_change(
        session,
        subject.actor,
        "discount_delegation.set",
        target_type="account",
        target_id=account_id,
        operator_id=subject.operator_id,
        account_id=account_id,
        before=_delegation_shape(before),
        after=_delegation_shape(after),
    )
    return after


def _delegation_shape(view: DelegationView) -> dict[str, Any]:
    return {
        "rate_plan_ids": view.rate_plan_ids,
        "max_percent": None if view.max_percent is None else f"{view.max_percent.normalize():f}",
        "free_allowed": view.free_allowed,
    }


__all__ = [
    "DelegationView",
    "DiscountView",
    "PlanVersion",
    "create_plan",
    "get_delegation",
    "get_plan",
    "list_discounts",
    "list_plans",
    "ocpi_tariff",
    "remove_discount",
    "set_delegation",
    "set_discount",
    "update_plan",
]
