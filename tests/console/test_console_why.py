"""'Why can (not) this driver charge here?' over HTTP: drivers ask about themselves only."""

from __future__ import annotations

from tests.console.helpers import console_login
from tests.fixtures.factories import (
    add_member,
    link_scope,
    make_account,
    make_charger,
    make_group,
    make_operator,
    make_user,
)


async def test_a_driver_learns_it_may_charge_through_its_group(client, uow) -> None:
    async with uow() as s:
        world = await make_operator(s)
        account = await make_account(s, world.operator)
        driver = await make_user(s, world.operator, account)
        group = await make_group(s, world.operator, account=account, name="Night shift")
        await add_member(s, group, driver)
        charger = await make_charger(s, world.operator, access_mode="private")
        await link_scope(s, charger, group)
    await console_login(client, world.operator, driver)
    page = await client.get("/console/why", params={"charge_point_id": charger.charge_point_id})
    assert page.status_code == 200
    assert "May charge here" in page.text
    assert "Night shift" in page.text


async def test_a_driver_cannot_ask_about_another_driver(client, uow) -> None:
    async with uow() as s:
        world = await make_operator(s)
        account = await make_account(s, world.operator)
        driver = await make_user(s, world.operator, account)
        other = await make_user(s, world.operator, account)
        group = await make_group(s, world.operator, account=account, name="Other's group")
        await add_member(s, group, other)
        charger = await make_charger(s, world.operator, access_mode="private")
        await link_scope(s, charger, group)
    await console_login(client, world.operator, driver)
    page = await client.get(
        "/console/why",
        params={"charge_point_id": charger.charge_point_id, "user_id": other.id},
    )
    # The question is answered about the signed-in driver, never the one in the address.
    assert "May not charge here" in page.text
    assert "Other&#39;s group" not in page.text and "Other's group" not in page.text


async def test_an_unknown_console_address_is_a_404_page(client, uow) -> None:
    async with uow() as s:
        world = await make_operator(s)
    await console_login(client, world.operator, world.admin)
    response = await client.get("/console/no-such-page")
    assert response.status_code == 404
    assert "There is no such page." in response.text
