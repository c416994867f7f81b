from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from chargegroups.kit.clock import utcnow
from chargegroups.models import JoinLink, User
from tests.fixtures.factories import bearer, make_account, make_operator, make_user
from tests.onboarding.helpers import (
    SIGNUP_PASSWORD,
    emails_to,
    make_group,
    memberships_of,
    snapshot,
    user_by_email,
)


async def create_link(client, uow, admin, account, **body) -> dict:
    async with uow() as s:
        headers = await bearer(s, admin)
    response = await client.post(
        f"/api/v1/accounts/{account.id}/join-links", json=body, headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()


def token_of(link: dict) -> str:
    return link["url"].rsplit("/", 1)[1]


async def join(client, token, email="joe@anywhere.example"):
    return await client.post(
        f"/api/v1/join/{token}", json={"email": email, "password": SIGNUP_PASSWORD, "name": "Joe"}
    )


@pytest.mark.parametrize("auto", [True, False])
async def test_joining_through_a_link_creates_a_member_auto_assigned(
    uow, client, auto: bool
) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        vans = await make_group(
            s, acme, operator_id=world.operator.id, name="Vans", auto_assign=auto
        )
    link = await create_link(client, uow, world.admin, acme)
    response = await join(client, token_of(link))
    assert response.status_code == 202
    async with uow() as s:
        user = await user_by_email(s, "joe@anywhere.example")
        assert user.account_id == acme.id
        assert await memberships_of(s, user.id) == ([(vans.id, "invitation_link")] if auto else [])


async def test_a_join_link_member_is_sent_a_verification_email_and_starts_unverified(
    uow, client
) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
    link = await create_link(client, uow, world.admin, acme)
    await join(client, token_of(link))
    async with uow() as s:
        user = await user_by_email(s, "joe@anywhere.example")
        [mail] = await emails_to(s, "joe@anywhere.example")
    assert user.email_verified_at is None
    assert "http://testserver/verify-email/cg_ver_" in mail.body_text


async def test_the_link_url_is_shown_once_and_only_its_hash_is_stored(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        headers = await bearer(s, world.admin)
    link = await create_link(client, uow, world.admin, acme, max_uses=3)
    assert link["url"].startswith("http://testserver/join/cg_join_")
    listed = (await client.get(f"/api/v1/accounts/{acme.id}/join-links", headers=headers)).json()
    assert [item["id"] for item in listed["items"]] == [link["id"]]
    assert "url" not in listed["items"][0]
    async with uow() as s:
        stored = await s.get_one(JoinLink, link["id"])
    assert token_of(link) not in stored.token_hash


async def test_a_link_is_exhausted_after_max_uses(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
    token = token_of(await create_link(client, uow, world.admin, acme, max_uses=2))
    assert (await join(client, token, "a@x.example")).status_code == 202
    assert (await join(client, token, "b@x.example")).status_code == 202
    async with uow() as s:
        before = await snapshot(s)
    third = await join(client, token, "c@x.example")
    assert third.status_code == 409
    assert third.json()["code"] == "join_link_exhausted"
    async with uow() as s:
        assert await snapshot(s) == before


async def test_concurrent_joins_never_exceed_max_uses(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
    token = token_of(await create_link(client, uow, world.admin, acme, max_uses=1))
    responses = await asyncio.gather(*(join(client, token, f"r{i}@x.example") for i in range(4)))
    assert sorted(r.status_code for r in responses) == [202, 409, 409, 409]
    async with uow() as s:
        joined = (
            await s.execute(
                select(func.count()).select_from(User).where(User.account_id == acme.id)
            )
        ).scalar_one()
        link_uses = (await s.execute(select(JoinLink.uses))).scalar_one()
    assert (joined, link_uses) == (1, 1)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"expires_at": utcnow() - timedelta(seconds=1)}, "join_link_expired"),
        ({"revoked_at": utcnow()}, "join_link_revoked"),
    ],
)
async def test_an_expired_or_revoked_link_is_refused_and_changes_nothing(
    uow, client, change, code
) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
    token = token_of(await create_link(client, uow, world.admin, acme))
    async with uow() as s:
        await s.execute(update(JoinLink).values(**change))
        before = await snapshot(s)
    response = await join(client, token)
    assert response.status_code == 409
    assert response.json()["code"] == code
    async with uow() as s:
        assert await snapshot(s) == before


async def test_an_admin_revokes_a_link_through_the_api(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        headers = await bearer(s, world.admin)
    link = await create_link(client, uow, world.admin, acme)
    revoked = await client.delete(
        f"/api/v1/accounts/{acme.id}/join-links/{link['id']}", headers=headers
    )
    assert revoked.status_code == 204
    assert (await join(client, token_of(link))).json()["code"] == "join_link_revoked"


async def test_a_link_expiring_in_the_past_cannot_be_created(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        headers = await bearer(s, world.admin)
    response = await client.post(
        f"/api/v1/accounts/{acme.id}/join-links",
        json={"expires_at": (utcnow() - timedelta(hours=1)).isoformat()},
        headers=headers,
    )
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_expiry"


async def test_an_unknown_link_is_404_token_unknown(client, engine) -> None:
    response = await join(client, "cg_join_nope")
    assert response.status_code == 404
    assert response.json()["code"] == "token_unknown"


async def test_joining_with_an_existing_address_answers_the_same_and_mails_its_owner(
    uow, client
) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        owner = await make_user(s, world.operator, world.default_account, email="o@x.example")
    token = token_of(await create_link(client, uow, world.admin, acme, max_uses=5))
    fresh = await join(client, token, "fresh@x.example")
    existing = await join(client, token, "O@x.example")
    assert existing.status_code == fresh.status_code == 202
    assert existing.json() == fresh.json()
    async with uow() as s:
        [mail] = await emails_to(s, "o@x.example")
        still = await user_by_email(s, "o@x.example")
        uses = (await s.execute(select(JoinLink.uses))).scalar_one()
    assert mail.subject == "You already have an account"
    assert still.account_id == owner.account_id
    assert uses == 1
