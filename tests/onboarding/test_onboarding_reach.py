"""R3: another operator's admin and another account's admin see nothing of your account."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from chargegroups.models import Invitation, JoinLink
from tests.fixtures.factories import bearer, make_account, make_operator, make_user


async def acme_and_outsiders(uow):
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        globex = await make_account(s, world.operator)
        driver = await make_user(s, world.operator, acme)
        link = JoinLink(operator_id=world.operator.id, account_id=acme.id, token_hash="h" * 64)
        invitation = Invitation(
            operator_id=world.operator.id,
            account_id=acme.id,
            email="i@acme.example",
            token_hash="i" * 64,
            expires_at=world.operator.created_at.replace(year=2100),
        )
        s.add_all([link, invitation])
        other = await make_operator(s)
        outsiders = {
            "other_operator_admin": await bearer(s, other.admin),
            "other_account_admin": await bearer(
                s, await make_user(s, world.operator, globex, admin_of=(globex,))
            ),
        }
    return acme, driver, link, invitation, outsiders


# name: (method, path with {a}ccount, {d}river, {link} and {inv}itation ids, body)
CALLS = {
    "invite": ("POST", "/accounts/{a}/invitations", {"email": "x@y.example"}),
    "list_invitations": ("GET", "/accounts/{a}/invitations", None),
    "revoke_invitation": ("DELETE", "/accounts/{a}/invitations/{inv}", None),
    "create_link": ("POST", "/accounts/{a}/join-links", {}),
    "list_links": ("GET", "/accounts/{a}/join-links", None),
    "revoke_link": ("DELETE", "/accounts/{a}/join-links/{link}", None),
    "remove_member": ("DELETE", "/accounts/{a}/members/{d}", None),
    "import": ("POST", "/accounts/{a}/members/import", "email,name\nx@y.example,X\n"),
}


@pytest.mark.parametrize("who", ["other_operator_admin", "other_account_admin"])
@pytest.mark.parametrize("call", sorted(CALLS))
async def test_outsiders_get_404_on_an_accounts_onboarding(uow, client, who, call) -> None:
    acme, driver, link, invitation, outsiders = await acme_and_outsiders(uow)
    method, template, body = CALLS[call]
    path = template.format(a=acme.id, d=driver.id, link=link.id, inv=invitation.id)
    kwargs = (
        {"content": body, "headers": {**outsiders[who], "content-type": "text/csv"}}
        if isinstance(body, str)
        else {"json": body, "headers": outsiders[who]}
    )
    response = await client.request(method, f"/api/v1{path}", **kwargs)
    assert response.status_code == 404, response.text
    async with uow() as s:
        assert (await s.get_one(JoinLink, link.id)).revoked_at is None
        assert (await s.get_one(Invitation, invitation.id)).revoked_at is None
        assert len(list((await s.execute(select(Invitation))).scalars())) == 1


async def test_only_operator_admins_read_the_outbox(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        headers = await bearer(s, await make_user(s, world.operator, acme, admin_of=(acme,)))
    response = await client.get("/api/v1/outbox", headers=headers)
    assert response.status_code == 403
