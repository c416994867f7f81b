from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from chargegroups.kit.clock import utcnow
from chargegroups.models import AuditEvent, Invitation
from tests.fixtures.factories import bearer, make_account, make_operator, make_user
from tests.onboarding.helpers import (
    SIGNUP_PASSWORD,
    emails_to,
    link_token,
    make_group,
    memberships_of,
    snapshot,
    user_by_email,
)

NEW = "new@acme.example"


async def invite(client, uow, admin, account, email=NEW) -> dict:
    async with uow() as s:
        headers = await bearer(s, admin)
    response = await client.post(
        f"/api/v1/accounts/{account.id}/invitations", json={"email": email}, headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()


async def mailed_token(uow, to=NEW) -> str:
    async with uow() as s:
        return await link_token(s, to, "invite")


async def accept(client, token, name="Nia"):
    return await client.post(
        "/api/v1/invitations/accept",
        json={"token": token, "password": SIGNUP_PASSWORD, "name": name},
    )


@pytest.mark.parametrize("auto", [True, False])
async def test_accepting_an_invitation_creates_a_verified_member_auto_assigned(
    uow, client, auto: bool
) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        vans = await make_group(
            s, acme, operator_id=world.operator.id, name="Vans", auto_assign=auto
        )
    await invite(client, uow, world.admin, acme)
    response = await accept(client, await mailed_token(uow))
    assert response.status_code == 202
    async with uow() as s:
        user = await user_by_email(s, NEW)
        assert user is not None and user.account_id == acme.id and user.name == "Nia"
        assert user.email_verified_at is not None
        assert await memberships_of(s, user.id) == ([(vans.id, "invitation")] if auto else [])


async def test_invitation_email_links_to_the_public_url(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator, name="Acme")
    await invite(client, uow, world.admin, acme)
    async with uow() as s:
        [mail] = await emails_to(s, NEW)
    assert "http://testserver/invite/cg_inv_" in mail.body_text
    assert "Acme" in mail.subject


async def test_the_invitation_token_is_not_returned_to_the_admin(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
    body = await invite(client, uow, world.admin, acme)
    assert await mailed_token(uow) not in str(body)
    assert set(body) >= {"id", "account_id", "email", "expires_at", "accepted_at", "revoked_at"}


async def test_invitation_expires_after_seven_days_by_default(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
    body = await invite(client, uow, world.admin, acme)
    async with uow() as s:
        invitation = await s.get_one(Invitation, body["id"])
    assert timedelta(days=6, hours=23) < invitation.expires_at - utcnow() <= timedelta(days=7)


async def test_inviting_an_existing_email_is_409_naming_the_account_holding_it(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        other = await make_account(s, world.operator, name="Globex")
        await make_user(s, world.operator, other, email="Taken@globex.example")
        headers = await bearer(s, world.admin)
    response = await client.post(
        f"/api/v1/accounts/{acme.id}/invitations",
        json={"email": "taken@GLOBEX.example"},
        headers=headers,
    )
    assert response.status_code == 409
    problem = response.json()
    assert problem["code"] == "email_exists"
    assert problem["account_id"] == other.id and problem["account_name"] == "Globex"


async def test_inviting_a_malformed_address_is_422(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        headers = await bearer(s, world.admin)
    response = await client.post(
        f"/api/v1/accounts/{world.default_account.id}/invitations",
        json={"email": "not an address"},
        headers=headers,
    )
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_email"


async def test_an_account_admin_invites_to_its_own_account(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        admin = await make_user(s, world.operator, acme, admin_of=(acme,))
    await invite(client, uow, admin, acme)


async def test_a_plain_member_may_not_invite_to_its_account(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        member = await make_user(s, world.operator, acme)
        headers = await bearer(s, member)
    response = await client.post(
        f"/api/v1/accounts/{acme.id}/invitations", json={"email": NEW}, headers=headers
    )
    assert response.status_code == 403


async def test_an_invitation_is_single_use(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
    await invite(client, uow, world.admin, acme)
    token = await mailed_token(uow)
    assert (await accept(client, token)).status_code == 202
    async with uow() as s:
        before = await snapshot(s)
    again = await accept(client, token, name="Eve")
    assert again.status_code == 409
    assert again.json()["code"] == "invitation_used"
    async with uow() as s:
        assert await snapshot(s) == before
        assert (await user_by_email(s, NEW)).name == "Nia"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"expires_at": utcnow() - timedelta(seconds=1)}, "invitation_expired"),
        ({"revoked_at": utcnow()}, "invitation_revoked"),
    ],
)
async def test_an_expired_or_revoked_invitation_is_refused_and_changes_nothing(
    uow, client, change, code
) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
    await invite(client, uow, world.admin, acme)
    token = await mailed_token(uow)
    async with uow() as s:
        await s.execute(update(Invitation).values(**change))
    async with uow() as s:
        before = await snapshot(s)
    response = await accept(client, token)
    assert response.status_code == 409
    assert response.json()["code"] == code
    async with uow() as s:
        assert await snapshot(s) == before


async def test_an_admin_revokes_an_invitation_through_the_api(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        headers = await bearer(s, world.admin)
    body = await invite(client, uow, world.admin, acme)
    revoked = await client.delete(
        f"/api/v1/accounts/{acme.id}/invitations/{body['id']}", headers=headers
    )
    assert revoked.status_code == 204
    listed = await client.get(f"/api/v1/accounts/{acme.id}/invitations", headers=headers)
    assert listed.json()["items"][0]["revoked_at"] is not None
    response = await accept(client, await mailed_token(uow))
    assert response.json()["code"] == "invitation_revoked"


async def test_an_unknown_invitation_token_is_404_token_unknown(client, engine) -> None:
    response = await accept(client, "cg_inv_nope")
    assert response.status_code == 404
    assert response.json()["code"] == "token_unknown"


async def test_accepting_for_an_address_that_got_a_user_meanwhile_answers_the_same(
    uow, client
) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
    await invite(client, uow, world.admin, acme)
    token = await mailed_token(uow)
    async with uow() as s:
        await make_user(s, world.operator, world.default_account, email=NEW)
    response = await accept(client, token)
    assert response.status_code == 202
    async with uow() as s:
        mails = await emails_to(s, NEW)
        user = await user_by_email(s, NEW)
    assert mails[-1].subject == "You already have an account"
    assert user.account_id == world.default_account.id


async def test_a_password_less_imported_member_is_activated_by_an_invitation(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        member = await make_user(s, world.operator, acme, email=NEW, verified=False)
        member.password_hash = None
    await invite(client, uow, world.admin, acme)
    assert (await accept(client, await mailed_token(uow), name="Nia A.")).status_code == 202
    async with uow() as s:
        user = await user_by_email(s, NEW)
    assert user.id == member.id and user.name == "Nia A."
    assert user.password_hash is not None and user.email_verified_at is not None


async def test_accepting_writes_audit_events_for_the_user_and_the_invitation(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
    body = await invite(client, uow, world.admin, acme)
    await accept(client, await mailed_token(uow))
    async with uow() as s:
        user = await user_by_email(s, NEW)
        events = set((await s.execute(select(AuditEvent.action, AuditEvent.target_id))).all())
    assert {
        ("invitation.created", body["id"]),
        ("invitation.accepted", body["id"]),
        ("user.created", user.id),
    } <= events
