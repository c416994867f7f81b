"""A small, realistic network for the browser tests: one customer account with an admin, a
financial owner and drivers, a global group, and a private charger the account owns."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.models import Account, Charger, Operator, User, UserGroup
from tests.fixtures.factories import (
    add_member,
    link_scope,
    make_account,
    make_charger,
    make_driver_token,
    make_group,
    make_operator,
    make_user,
)


@dataclass(frozen=True, slots=True)
class Network:
    operator: Operator
    operator_admin: User
    acme: Account
    acme_admin: User
    finance: User
    drivers: list[User]
    global_group: UserGroup
    charger: Charger


async def make_network(s: AsyncSession) -> Network:
    world = await make_operator(s, slug="northgrid")
    world.operator.name = "NorthGrid Charging"
    world.admin.name = "Olivia Operator"
    acme = await make_account(s, world.operator, name="Acme Fleet", domains=("acme.example",))
    await make_account(s, world.operator, name="Harbour Offices", domains=("harbour.example",))
    acme_admin = await make_user(
        s,
        world.operator,
        acme,
        name="Alice Admin",
        email="alice@acme.example",
        admin_of=(acme,),
    )
    finance = await make_user(
        s, world.operator, acme, name="Fiona Finance", email="fiona@acme.example"
    )
    drivers = [
        await make_user(
            s, world.operator, acme, name=name, email=f"{name.split()[0].lower()}@acme.example"
        )
        for name in ("Bram Berger", "Chen Li", "Eva Novak")
    ]
    for driver in drivers:
        await make_driver_token(s, driver)
    global_group = await make_group(s, world.operator, name="Roaming partners")
    await add_member(s, global_group, drivers[0])
    charger = await make_charger(
        s, world.operator, account=acme, access_mode="private", charge_point_id="ACME-DEPOT-01"
    )
    charger.name = "Acme depot, bay 1"
    charger.site = "Acme depot"
    await link_scope(s, charger, global_group)
    await make_charger(s, world.operator, charge_point_id="CITY-HALL-01")
    return Network(
        operator=world.operator,
        operator_admin=world.admin,
        acme=acme,
        acme_admin=acme_admin,
        finance=finance,
        drivers=drivers,
        global_group=global_group,
        charger=charger,
    )
