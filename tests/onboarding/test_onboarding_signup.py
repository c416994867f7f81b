from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest
from sqlalchemy import update

from chargegroups.auth.service import subject_for
from chargegroups.kit import secrets
from chargegroups.kit.clock import utcnow
from chargegroups.models import EmailVerification
from chargegroups.user import profile
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


async def open_operator(uow, *, domains=("acme.example",)):
    async with uow() as s:
        world = await make_operator(s)
        world.operator.self_signup_enabled = True
        acme = await make_account(s, world.operator, name="Acme", domains=domains)
    return world, acme


async def signup(client, world, email="ana@acme.example"):
    return await client.post(
        "/api/v1/signup",
        json={
            "operator": world.operator.slug,
            "email": email,
            "password": SIGNUP_PASSWORD,
            "name": "Ana",
        },
    )


async def verify(client, uow, email="ana@acme.example"):
    async with uow() as s:
        token = await link_token(s, email, "verify-email")
    return await client.post("/api/v1/verify-email", json={"token": token})


@pytest.mark.parametrize("auto", [True, False])
async def test_a_verified_sign_up_moves_to_its_domains_account_auto_assigned(
    uow, client, auto: bool
) -> None:
    world, acme = await open_operator(uow)
    async with uow() as s:
        vans = await make_group(
            s, acme, operator_id=world.operator.id, name="Vans", auto_assign=auto
        )
    assert (await signup(client, world, "Ana@ACME.example")).status_code == 202
    verified = await verify(client, uow, "Ana@ACME.example")
    assert verified.status_code == 200
    assert verified.json() == {"status": "verified", "account_id": acme.id}
    async with uow() as s:
        user = await user_by_email(s, "ana@acme.example")
        assert user.account_id == acme.id and user.email_verified_at is not None
        assert await memberships_of(s, user.id) == ([(vans.id, "domain")] if auto else [])


async def test_an_unverified_company_address_gets_no_membership_and_no_payer(uow, client) -> None:
    """Domain squatting: claiming @acme.example must not put anyone on Acme's bill."""
    world, acme = await open_operator(uow)
    async with uow() as s:
        boss = await make_user(s, world.operator, acme)
        await make_group(
            s,
            acme,
            operator_id=world.operator.id,
            name="Company pays",
            auto_assign=True,
            financial_owner=boss,
        )
    assert (await signup(client, world, "mallory@acme.example")).status_code == 202
    async with uow() as s:
        user = await user_by_email(s, "mallory@acme.example")
        me = await profile.me(s, await subject_for(s, user))
        memberships = await memberships_of(s, user.id)
    assert user.account_id == world.default_account.id
    assert user.email_verified_at is None
    assert memberships == []
    assert me.groups == [] and me.paid_by == []


async def test_a_verified_address_without_a_matching_domain_stays_in_the_default_account(
    uow, client
) -> None:
    world, _ = await open_operator(uow)
    async with uow() as s:
        lobby = await make_group(
            s, world.default_account, operator_id=world.operator.id, name="Lobby", auto_assign=True
        )
    await signup(client, world, "solo@elsewhere.example")
    assert (await verify(client, uow, "solo@elsewhere.example")).status_code == 200
    async with uow() as s:
        user = await user_by_email(s, "solo@elsewhere.example")
        assert user.account_id == world.default_account.id
        assert await memberships_of(s, user.id) == [(lobby.id, "domain")]


async def test_a_subdomain_does_not_match_its_parent_domain(uow, client) -> None:
    world, _ = await open_operator(uow)
    await signup(client, world, "eve@mail.acme.example")
    await verify(client, uow, "eve@mail.acme.example")
    async with uow() as s:
        user = await user_by_email(s, "eve@mail.acme.example")
    assert user.account_id == world.default_account.id


async def test_sign_up_is_refused_when_the_operator_has_it_off(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
    response = await signup(client, world)
    assert response.status_code == 403
    assert response.json()["code"] == "signup_disabled"
    async with uow() as s:
        assert await user_by_email(s, "ana@acme.example") is None


async def test_signing_up_with_an_existing_address_answers_the_same_and_mails_its_owner(
    uow, client
) -> None:
    world, acme = await open_operator(uow)
    async with uow() as s:
        await make_user(s, world.operator, acme, email="ana@acme.example")
        before = await snapshot(s)
    existing = await signup(client, world, "ANA@acme.example")
    fresh = await signup(client, world, "new@acme.example")
    assert existing.status_code == fresh.status_code == 202
    assert existing.json() == fresh.json()
    async with uow() as s:
        [mail] = await emails_to(s, "ana@acme.example")
        after = await snapshot(s)
    assert mail.subject == "You already have an account"
    assert after["users"] == before["users"] + 1  # only the fresh address


async def test_a_malformed_address_is_422(uow, client) -> None:
    world, _ = await open_operator(uow)
    response = await signup(client, world, "no-at-sign")
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_email"


async def test_a_short_password_is_422(uow, client) -> None:
    world, _ = await open_operator(uow)
    response = await client.post(
        "/api/v1/signup",
        json={
            "operator": world.operator.slug,
            "email": "a@b.example",
            "password": "x",
            "name": "A",
        },
    )
    assert response.status_code == 422


async def test_a_verification_link_works_once(uow, client) -> None:
    world, _ = await open_operator(uow)
    await signup(client, world)
    assert (await verify(client, uow)).status_code == 200
    again = await verify(client, uow)
    assert again.status_code == 409
    assert again.json()["code"] == "verification_used"


async def test_an_expired_verification_link_is_refused_and_changes_nothing(uow, client) -> None:
    world, _ = await open_operator(uow)
    await signup(client, world)
    async with uow() as s:
        await s.execute(
            update(EmailVerification).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    response = await verify(client, uow)
    assert response.status_code == 409
    assert response.json()["code"] == "verification_expired"
    async with uow() as s:
        user = await user_by_email(s, "ana@acme.example")
    assert user.email_verified_at is None and user.account_id == world.default_account.id


async def test_an_unknown_verification_token_is_404_token_unknown(client, engine) -> None:
    response = await client.post("/api/v1/verify-email", json={"token": "cg_ver_nope"})
    assert response.status_code == 404
    assert response.json()["code"] == "token_unknown"


async def test_a_sign_up_hashes_its_password_off_the_event_loop(uow, client) -> None:
    """With every argon2 thread busy, a sign-up waits and the rest of the API answers."""
    world, _ = await open_operator(uow)
    async with uow() as s:
        headers = await bearer(s, world.admin)
    loop = asyncio.get_running_loop()
    release = threading.Event()
    busy = [
        loop.run_in_executor(secrets.PASSWORD_THREADS, release.wait)
        for _ in range(secrets.PASSWORD_THREAD_COUNT)
    ]
    signing_up = asyncio.create_task(signup(client, world))
    try:
        assert (await client.get("/api/v1/me", headers=headers)).status_code == 200
        assert not signing_up.done()
    finally:
        release.set()
    await asyncio.gather(*busy)
    assert (await signing_up).status_code == 202
