"""User Groups pages over HTTP: the delete confirmation says what goes, bulk membership."""

from __future__ import annotations

import re

from sqlalchemy import select

from chargegroups.models import GroupMembership, UserGroup
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


async def test_the_delete_confirmation_counts_memberships_and_scope_links(client, uow) -> None:
    async with uow() as s:
        world = await make_operator(s)
        account = await make_account(s, world.operator)
        group = await make_group(s, world.operator, account=account, name="Vans")
        for _ in range(3):
            await add_member(s, group, await make_user(s, world.operator, account))
        for _ in range(2):
            await link_scope(s, await make_charger(s, world.operator), group)
    token = await console_login(client, world.operator, world.admin)
    page = await client.get(f"/console/groups/{group.id}/delete")
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page.text))
    assert "3 memberships" in text
    assert "2 charger scope links" in text
    response = await client.post(
        f"/console/groups/{group.id}/delete", data={"csrf_token": token, "version": "1"}
    )
    assert response.status_code == 303
    async with uow() as s:
        assert await s.get(UserGroup, group.id) is None


async def test_an_account_admin_adds_several_members_in_one_go(client, uow) -> None:
    async with uow() as s:
        world = await make_operator(s)
        account = await make_account(s, world.operator)
        admin = await make_user(s, world.operator, account, admin_of=(account,))
        drivers = [await make_user(s, world.operator, account) for _ in range(3)]
        group = await make_group(s, world.operator, account=account)
    token = await console_login(client, world.operator, admin)
    response = await client.post(
        f"/console/groups/{group.id}/members",
        data={"csrf_token": token, "user_ids": [d.id for d in drivers]},
    )
    assert response.status_code == 303
    async with uow() as s:
        members = (
            await s.execute(
                select(GroupMembership.user_id).where(GroupMembership.group_id == group.id)
            )
        ).scalars()
        assert set(members) == {d.id for d in drivers}


async def test_adding_a_member_of_another_account_shows_the_error_by_the_list(client, uow) -> None:
    async with uow() as s:
        world = await make_operator(s)
        account = await make_account(s, world.operator)
        elsewhere = await make_account(s, world.operator)
        outsider = await make_user(s, world.operator, elsewhere)
        group = await make_group(s, world.operator, account=account)
    token = await console_login(client, world.operator, world.admin)
    response = await client.post(
        f"/console/groups/{group.id}/members",
        data={"csrf_token": token, "user_ids": [outsider.id]},
    )
    assert response.status_code == 422
    assert re.search(r'id="e-user_ids">[^<]*cannot join', response.text)


async def test_an_account_admin_adds_groups_only_where_the_operator_lets_it(client, uow) -> None:
    async with uow() as s:
        world = await make_operator(s)
        delegated = await make_account(s, world.operator, admins_may_create_groups=True)
        admin = await make_user(s, world.operator, delegated, admin_of=(delegated,))
    token = await console_login(client, world.operator, admin)
    assert "+ Add Group" in (await client.get("/console/groups")).text
    form = (await client.get("/console/groups/new")).text
    assert 'value="all_accounts"' not in form
    response = await client.post(
        "/console/groups/new",
        data={
            "csrf_token": token,
            "name": "Fleet",
            "scope_kind": "account",
            "account_id": delegated.id,
        },
    )
    assert response.status_code == 303
    async with uow() as s:
        group = (await s.execute(select(UserGroup).where(UserGroup.name == "Fleet"))).scalar_one()
        assert group.account_id == delegated.id


async def test_without_delegation_an_account_admin_sees_no_add_group(client, uow) -> None:
    async with uow() as s:
        world = await make_operator(s)
        account = await make_account(s, world.operator)
        admin = await make_user(s, world.operator, account, admin_of=(account,))
    token = await console_login(client, world.operator, admin)
    assert "+ Add Group" not in (await client.get("/console/groups")).text
    response = await client.post(
        "/console/groups/new",
        data={
            "csrf_token": token,
            "name": "Fleet",
            "scope_kind": "account",
            "account_id": account.id,
        },
    )
    assert response.status_code == 403
