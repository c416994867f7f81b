"""A small, realistic demo network, built through the same services as the API.

One operator with two rate plans, two customer accounts (Acme Logistics with a van pool that
Acme pays for and a 20 % depot discount; Northwind Offices), drivers with RFID tokens, a private
depot charger and a public street charger.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.account import service as account_service
from chargegroups.auth.service import subject_for
from chargegroups.charger import service as charger_service
from chargegroups.group import service as group_service
from chargegroups.kit.secrets import hash_password
from chargegroups.models import Operator, User
from chargegroups.onboarding.importer import import_members
from chargegroups.operator.service import create_operator, update_operator
from chargegroups.rate_plan import service as rate_plan_service
from chargegroups.rate_plan.rules import Discount, terms_from_dict

DEMO_PASSWORD = "chargegroups-demo"  # noqa: S105 (published demo credentials)

STANDARD_TERMS = {
    "currency": "EUR",
    "vat_percent": "21",
    "energy": {"kind": "fixed", "price_per_kwh": "0.45"},
    "connection_fee": "0.50",
}
# PRODUCT.md's worked example "Depot".
DEPOT_TERMS = {
    "currency": "EUR",
    "vat_percent": "21",
    "energy": {"kind": "fixed", "price_per_kwh": "0.40"},
    "connection_fee": "1.00",
    "idle_fee": {"per_minute": "0.10", "grace_minutes": 15},
}

ACME_MEMBERS = """email,name,token_uid
fleet.admin@acme.example,Frank Fleet,DEMO0000
dana.driver@acme.example,Dana Driver,DEMO0001
li.wei@acme.example,Li Wei,DEMO0002
"""
NORTHWIND_MEMBERS = """email,name,token_uid
sam.smith@northwind.example,Sam Smith,DEMO0003
"""


async def load_demo(session: AsyncSession, *, slug: str, if_empty: bool) -> str:
    if if_empty and (await session.execute(select(Operator.id).limit(1))).first():
        return "The database holds data already; demo not loaded."
    created = await create_operator(
        session,
        slug=slug,
        name="Demo Charging Network",
        admin_email=f"admin@{slug}.example",
        admin_password=DEMO_PASSWORD,
        admin_name="Olivia Operator",
    )
    operator = await subject_for(session, created.admin)

    standard = await rate_plan_service.create_plan(
        session, operator, name="Standard", terms=terms_from_dict(STANDARD_TERMS)
    )
    depot = await rate_plan_service.create_plan(
        session, operator, name="Depot", terms=terms_from_dict(DEPOT_TERMS)
    )
    await update_operator(session, operator, {"default_rate_plan_id": standard.plan.id})

    acme = await account_service.create_account(
        session,
        operator,
        name="Acme Logistics",
        email_domains=["acme.example"],
        default_rate_plan_id=depot.plan.id,
        admins_may_create_groups=True,
    )
    northwind = await account_service.create_account(
        session, operator, name="Northwind Offices", email_domains=["northwind.example"]
    )
    acme_people = await import_members(session, operator.actor, acme.account, ACME_MEMBERS)
    await import_members(session, operator.actor, northwind.account, NORTHWIND_MEMBERS)
    fleet_admin_id, *acme_driver_ids = [row.user_id for row in acme_people.rows]
    await account_service.add_admin(session, operator, acme.account.id, fleet_admin_id)

    vans = await group_service.create_group(
        session,
        operator,
        name="Acme van pool",
        description="Drivers of Acme's delivery vans; Acme pays at its depot.",
        account_id=acme.account.id,
        auto_assign=True,
        financial_owner_id=fleet_admin_id,
        pays_at="scoped_chargers",
    )
    await group_service.create_group(
        session,
        operator,
        name="Network staff",
        description="The operator's own employees.",
        account_id=None,
    )
    await group_service.add_members(session, operator, vans.group.id, acme_driver_ids)
    await rate_plan_service.set_discount(
        session, operator, depot.plan.id, vans.group.id, Discount.percent(Decimal("20"))
    )
    await rate_plan_service.set_delegation(
        session,
        operator,
        acme.account.id,
        rate_plan_ids=[depot.plan.id],
        max_percent=Decimal("25"),
        free_allowed=False,
    )

    depot_charger = await charger_service.create_charger(
        session,
        operator,
        password=DEMO_PASSWORD,
        charge_point_id="ACME-DEPOT-1",
        name="Acme depot bay 1",
        site="Acme depot",
        account_id=acme.account.id,
        access_mode="private",
        connectors=2,
    )
    await charger_service.create_charger(
        session,
        operator,
        password=DEMO_PASSWORD,
        charge_point_id="CITY-STREET-7",
        name="Main street 7",
        site="City centre",
        account_id=None,
        access_mode="public",
        connectors=2,
    )
    await charger_service.add_to_scope(session, operator, depot_charger.id, vans.group.id)

    # Imported members have no password (they would be invited); the demo signs them in.
    demo_hash = hash_password(DEMO_PASSWORD)
    for user in (await session.execute(select(User).where(User.password_hash.is_(None)))).scalars():
        user.password_hash = demo_hash
    await session.flush()
    return (
        f"Demo network loaded. Sign in at http://127.0.0.1:8000/console with operator '{slug}' "
        f"and password '{DEMO_PASSWORD}' as admin@{slug}.example (operator admin), "
        "fleet.admin@acme.example (account admin of Acme) or dana.driver@acme.example (driver). "
        "Chargers ACME-DEPOT-1 (private, Acme van pool) and CITY-STREET-7 (public) accept OCPP "
        "with the same password; driver tokens DEMO0001..DEMO0003."
    )
