from __future__ import annotations

import pytest
from sqlalchemy import select

from chargegroups.charger import revocation
from chargegroups.models import AuditEvent, ChargerScope, GroupMembership, User
from tests.fixtures.factories import bearer, make_account, make_charger, make_operator, make_user
from tests.onboarding.helpers import make_group, memberships_of


async def company_with_member(uow, *, auto_in_target: bool):
    """A member of Acme in an Acme group (on a private charger) and a global group."""
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator, name="Acme")
        globex = await make_account(s, world.operator, name="Globex")
        driver = await make_user(s, world.operator, acme)
        old = await make_group(s, acme, operator_id=world.operator.id, name="Acme vans")
        staff = await make_group(s, None, operator_id=world.operator.id, name="Staff")
        new = await make_group(
            s, globex, operator_id=world.operator.id, name="Globex", auto_assign=auto_in_target
        )
        lobby = await make_group(
            s,
            world.default_account,
            operator_id=world.operator.id,
            name="Lobby",
            auto_assign=auto_in_target,
        )
        charger = await make_charger(s, world.operator, account=acme, access_mode="private")
        s.add(ChargerScope(charger_id=charger.id, group_id=old.id, operator_id=world.operator.id))
        for group in (old, staff):
            s.add(
                GroupMembership(
                    operator_id=world.operator.id,
                    group_id=group.id,
                    user_id=driver.id,
                    source="manual",
                )
            )
        headers = await bearer(s, world.admin)
    return (
        world,
        acme,
        globex,
        driver,
        {"old": old, "staff": staff, "new": new, "lobby": lobby},
        charger,
        headers,
    )


@pytest.mark.parametrize("auto", [True, False])
async def test_transfer_leaves_old_account_groups_and_auto_assigns_the_new(
    uow, client, auto: bool
) -> None:
    _, _, globex, driver, groups, _, headers = await company_with_member(uow, auto_in_target=auto)
    response = await client.post(
        f"/api/v1/users/{driver.id}/transfer", json={"account_id": globex.id}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["account_id"] == globex.id
    async with uow() as s:
        expected = [(groups["staff"].id, "manual")]
        if auto:
            expected.append((groups["new"].id, "transfer"))
        assert sorted(await memberships_of(s, driver.id)) == sorted(expected)


async def test_transfer_tells_the_chargers_of_the_left_groups_to_clear_caches(uow, client) -> None:
    world, _, globex, driver, _, charger, headers = await company_with_member(
        uow, auto_in_target=False
    )
    heard: list[revocation.Revocation] = []
    stop = revocation.add_listener(heard.append)
    try:
        await client.post(
            f"/api/v1/users/{driver.id}/transfer", json={"account_id": globex.id}, headers=headers
        )
    finally:
        stop()
    assert heard == [
        revocation.Revocation(operator_id=world.operator.id, charger_ids=frozenset({charger.id}))
    ]


async def test_transfer_writes_audit_events_for_the_move_and_each_left_group(uow, client) -> None:
    _, _, globex, driver, groups, _, headers = await company_with_member(uow, auto_in_target=False)
    await client.post(
        f"/api/v1/users/{driver.id}/transfer", json={"account_id": globex.id}, headers=headers
    )
    async with uow() as s:
        events = list((await s.execute(select(AuditEvent.action, AuditEvent.target_id))).all())
    assert ("membership.removed", groups["old"].id) in events
    assert ("user.account_changed", driver.id) in events
    assert ("membership.removed", groups["staff"].id) not in events


async def test_the_financial_owner_of_an_old_account_group_cannot_be_transferred(
    uow, client
) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        globex = await make_account(s, world.operator)
        owner = await make_user(s, world.operator, acme)
        paid = await make_group(
            s, acme, operator_id=world.operator.id, name="Paid", financial_owner=owner
        )
        headers = await bearer(s, world.admin)
    response = await client.post(
        f"/api/v1/users/{owner.id}/transfer", json={"account_id": globex.id}, headers=headers
    )
    assert response.status_code == 409
    problem = response.json()
    assert problem["code"] == "financial_owner_of_groups"
    assert problem["groups"] == [{"id": paid.id, "name": "Paid"}]
    async with uow() as s:
        assert (await s.get_one(User, owner.id)).account_id == acme.id


async def test_an_account_admin_may_not_transfer_its_member(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        globex = await make_account(s, world.operator)
        admin = await make_user(s, world.operator, acme, admin_of=(acme,))
        driver = await make_user(s, world.operator, acme)
        headers = await bearer(s, admin)
    response = await client.post(
        f"/api/v1/users/{driver.id}/transfer", json={"account_id": globex.id}, headers=headers
    )
    assert response.status_code == 403


async def test_transfer_of_another_operators_user_is_404(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        other = await make_operator(s)
        stranger = await make_user(s, other.operator, other.default_account)
        headers = await bearer(s, world.admin)
    response = await client.post(
        f"/api/v1/users/{stranger.id}/transfer",
        json={"account_id": world.default_account.id},
        headers=headers,
    )
    assert response.status_code == 404


@pytest.mark.parametrize("auto", [True, False])
async def test_removal_moves_the_member_to_the_default_account_leaving_its_groups(
    uow, client, auto: bool
) -> None:
    world, acme, _, driver, groups, _, headers = await company_with_member(uow, auto_in_target=auto)
    response = await client.delete(
        f"/api/v1/accounts/{acme.id}/members/{driver.id}", headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["account_id"] == world.default_account.id
    async with uow() as s:
        expected = [(groups["staff"].id, "manual")]
        if auto:
            expected.append((groups["lobby"].id, "transfer"))
        assert sorted(await memberships_of(s, driver.id)) == sorted(expected)


async def test_an_account_admin_removes_its_member(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        admin = await make_user(s, world.operator, acme, admin_of=(acme,))
        driver = await make_user(s, world.operator, acme)
        headers = await bearer(s, admin)
    response = await client.delete(
        f"/api/v1/accounts/{acme.id}/members/{driver.id}", headers=headers
    )
    assert response.status_code == 200


async def test_removal_from_the_default_account_is_409(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        driver = await make_user(s, world.operator, world.default_account)
        headers = await bearer(s, world.admin)
    response = await client.delete(
        f"/api/v1/accounts/{world.default_account.id}/members/{driver.id}", headers=headers
    )
    assert response.status_code == 409
    assert response.json()["code"] == "default_account_removal"
