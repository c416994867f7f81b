"""A small, realistic demo network: one operator, two customer accounts, drivers, chargers."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.kit.secrets import hash_password
from chargegroups.models import (
    Account,
    AccountDomain,
    Charger,
    ChargerScope,
    DriverToken,
    Grant,
    GroupMembership,
    Operator,
    User,
    UserGroup,
)
from chargegroups.models.grant import ACCOUNT_ADMIN
from chargegroups.operator.service import create_operator
from chargegroups.user.rules import new_parent_id_tag, normalize_email

DEMO_PASSWORD = "chargegroups-demo"  # noqa: S105 (published demo credentials)


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
    op = created.operator

    async def account(name: str, domain: str) -> Account:
        acc = Account(operator_id=op.id, name=name, name_normalized=name.lower())
        session.add(acc)
        await session.flush()
        session.add(AccountDomain(operator_id=op.id, account_id=acc.id, domain=domain))
        return acc

    async def user(acc: Account, email: str, name: str) -> User:
        u = User(
            operator_id=op.id,
            account_id=acc.id,
            email=email,
            email_normalized=normalize_email(email),
            name=name,
            password_hash=hash_password(DEMO_PASSWORD),
            parent_id_tag=new_parent_id_tag(),
        )
        session.add(u)
        await session.flush()
        return u

    acme = await account("Acme Logistics", "acme.example")
    northwind = await account("Northwind Offices", "northwind.example")
    acme_admin = await user(acme, "fleet.admin@acme.example", "Frank Fleet")
    session.add(
        Grant(
            operator_id=op.id,
            user_id=acme_admin.id,
            role=ACCOUNT_ADMIN,
            account_id=acme.id,
            scope_id=acme.id,
        )
    )
    drivers = [
        await user(acme, "dana.driver@acme.example", "Dana Driver"),
        await user(acme, "li.wei@acme.example", "Li Wei"),
        await user(northwind, "sam.smith@northwind.example", "Sam Smith"),
    ]
    vans = UserGroup(
        operator_id=op.id,
        name="Acme van pool",
        name_normalized="acme van pool",
        description="Drivers of Acme's delivery vans",
        scope_kind="account",
        account_id=acme.id,
        scope_key=acme.id,
        auto_assign=True,
        financial_owner_id=acme_admin.id,
        pays_at="scoped_chargers",
    )
    staff = UserGroup(
        operator_id=op.id,
        name="Network staff",
        name_normalized="network staff",
        description="Operator employees",
        scope_kind="all_accounts",
        account_id=None,
        scope_key="*",
    )
    session.add_all([vans, staff])
    await session.flush()
    for driver in drivers[:2]:
        session.add(
            GroupMembership(operator_id=op.id, group_id=vans.id, user_id=driver.id, source="manual")
        )
    depot = Charger(
        operator_id=op.id,
        charge_point_id="ACME-DEPOT-1",
        name="Acme depot bay 1",
        site="Acme depot",
        account_id=acme.id,
        access_mode="private",
        connectors=2,
        password_hash=hash_password(DEMO_PASSWORD),
    )
    street = Charger(
        operator_id=op.id,
        charge_point_id="CITY-STREET-7",
        name="Main street 7",
        site="City centre",
        access_mode="public",
        connectors=2,
        password_hash=hash_password(DEMO_PASSWORD),
    )
    session.add_all([depot, street])
    await session.flush()
    session.add(ChargerScope(operator_id=op.id, charger_id=depot.id, group_id=vans.id))
    for index, driver in enumerate(drivers, start=1):
        uid = f"DEMO{index:04d}"
        session.add(
            DriverToken(
                operator_id=op.id,
                user_id=driver.id,
                uid=uid,
                uid_normalized=uid.lower(),
                type="rfid",
            )
        )
    await session.flush()
    return (
        f"Demo network loaded. Sign in at /console with operator '{slug}' and password "
        f"'{DEMO_PASSWORD}' as admin@{slug}.example (operator admin), "
        "fleet.admin@acme.example (account admin of Acme) or dana.driver@acme.example (driver). "
        "Chargers ACME-DEPOT-1 (private) and CITY-STREET-7 (public) accept OCPP with the same "
        "password; driver tokens DEMO0001..DEMO0003."
    )
