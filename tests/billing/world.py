"""A small billing world: an operator in Amsterdam, two customer accounts, a fleet group paid
by its financial owner, drivers who pay for themselves, and rate plans in EUR, JPY and GBP."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.models import Account, Charger, Operator, User, UserGroup
from chargegroups.rate_plan.rules import (
    CostPlus,
    CostPlusPercent,
    Fixed,
    IdleFee,
    RatePlanTerms,
)
from tests.fixtures.factories import make_account, make_charger, make_operator, make_user

D = Decimal
# PRODUCT.md's "Depot": 0.40 EUR/kWh, 1.00 connection, 0.10/min idle after 15 min, VAT 21 %.
DEPOT = RatePlanTerms(
    currency="EUR",
    vat_percent=D("21"),
    energy=Fixed(D("0.40")),
    connection_fee=D("1.00"),
    idle_fee=IdleFee(D("0.10"), 15),
)
COST_PLUS = RatePlanTerms(
    currency="EUR", vat_percent=D("21"), energy=CostPlus(D("0.15"), D("0.10"))
)
COST_PLUS_PERCENT = RatePlanTerms(
    currency="EUR", vat_percent=D("19"), energy=CostPlusPercent(D("0.15"), D("30"))
)
TOKYO = RatePlanTerms(
    currency="JPY",
    vat_percent=D("10"),
    energy=Fixed(D("33")),
    connection_fee=D("110"),
    time_fee_per_hour=D("55"),
)
LONDON = RatePlanTerms(
    currency="GBP",
    vat_percent=D("20"),
    energy=Fixed(D("0.79")),
    time_fee_per_hour=D("1.20"),
)
PLANS = (DEPOT, COST_PLUS, COST_PLUS_PERCENT, TOKYO, LONDON)


@dataclass(frozen=True, slots=True)
class BillingWorld:
    operator: Operator
    admin: User
    acme: Account
    acme_admin: User
    beta: Account
    beta_admin: User
    owner: User  # pays for the Acme fleet group
    fleet: UserGroup
    staff_owner: User  # pays for the global Staff group
    staff: UserGroup
    acme_drivers: tuple[User, ...]
    self_payer: User  # a Beta driver who pays for itself
    charger: Charger


async def make_group(
    session: AsyncSession,
    operator: Operator,
    *,
    name: str,
    account: Account | None = None,
    financial_owner: User | None = None,
) -> UserGroup:
    group = UserGroup(
        operator_id=operator.id,
        name=name,
        name_normalized=name.lower(),
        scope_kind="account" if account else "all_accounts",
        account_id=account.id if account else None,
        scope_key=account.id if account else "*",
        financial_owner_id=financial_owner.id if financial_owner else None,
    )
    session.add(group)
    await session.flush()
    return group


async def build_world(session: AsyncSession) -> BillingWorld:
    base = await make_operator(session)
    base.operator.timezone = "Europe/Amsterdam"
    op = base.operator
    acme = await make_account(session, op, name="Acme")
    beta = await make_account(session, op, name="Beta")
    owner = await make_user(session, op, acme, name="Acme Finance")
    staff_owner = await make_user(session, op, base.default_account, name="Staff Finance")
    await session.flush()
    return BillingWorld(
        operator=op,
        admin=base.admin,
        acme=acme,
        acme_admin=await make_user(session, op, acme, name="Acme Admin", admin_of=(acme,)),
        beta=beta,
        beta_admin=await make_user(session, op, beta, name="Beta Admin", admin_of=(beta,)),
        owner=owner,
        fleet=await make_group(session, op, name="Acme fleet", account=acme, financial_owner=owner),
        staff_owner=staff_owner,
        staff=await make_group(session, op, name="Staff", financial_owner=staff_owner),
        acme_drivers=(
            await make_user(session, op, acme, name="Ada Driver"),
            await make_user(session, op, acme, name="Bob Driver"),
        ),
        self_payer=await make_user(session, op, beta, name="Cleo Selfpay"),
        charger=await make_charger(session, op),
    )
