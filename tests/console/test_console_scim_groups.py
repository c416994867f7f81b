"""A group the account's identity provider pushed over SCIM: the console shows it managed there
and refuses membership changes by hand (409 ``group_managed_by_scim``)."""

from __future__ import annotations

from chargegroups.models import UserGroup
from tests.console.helpers import console_login
from tests.fixtures.factories import add_member, make_account, make_group, make_operator, make_user


async def test_a_scim_managed_group_shows_no_member_forms_and_refuses_changes(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        admin = await make_user(s, world.operator, acme, admin_of=(acme,))
        ann = await make_user(s, world.operator, acme, name="Ann Archer")
        group = await make_group(s, world.operator, account=acme, name="Pushed")
        (await s.get_one(UserGroup, group.id)).managed_by_scim = True
        await add_member(s, group, ann, source="scim")
    token = await console_login(client, world.operator, admin)
    page = await client.get(f"/console/groups/{group.id}")
    assert page.status_code == 200
    assert "managed by the account's identity provider" in page.text
    assert "Ann Archer" in page.text
    assert "Remove selected" not in page.text and "Add members" not in page.text
    removed = await client.post(
        f"/console/groups/{group.id}/members/remove",
        data={"csrf_token": token, "user_ids": ann.id},
    )
    added = await client.post(
        f"/console/groups/{group.id}/members/add-all", data={"csrf_token": token}
    )
    assert removed.status_code == 409 and "identity provider" in removed.text
    assert added.status_code == 409
