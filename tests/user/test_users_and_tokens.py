from __future__ import annotations

from chargegroups.charger.revocation import Revocation
from tests.fixtures.factories import (
    bearer,
    make_account,
    make_driver_token,
    make_operator,
    make_user,
)

API = "/api/v1"


async def test_token_uids_are_unique_per_operator_case_insensitively(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        user = await make_user(s, world.operator, world.default_account)
        await make_driver_token(s, user, uid="ABC123")
        elsewhere = await make_operator(s)
        stranger = await make_user(s, elsewhere.operator, elsewhere.default_account)
        headers = await bearer(s, world.admin)
        other_headers = await bearer(s, elsewhere.admin)
    taken = await client.post(
        f"{API}/users/{user.id}/tokens", json={"uid": "abc123"}, headers=headers
    )
    free = await client.post(
        f"{API}/users/{stranger.id}/tokens", json={"uid": "abc123"}, headers=other_headers
    )
    assert (taken.status_code, taken.json()["code"]) == (409, "token_uid_taken")
    assert free.status_code == 201


async def test_a_new_token_has_the_api_shape(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        user = await make_user(s, world.operator, world.default_account)
        headers = await bearer(s, world.admin)
    response = await client.post(
        f"{API}/users/{user.id}/tokens",
        json={"uid": "04A2B3C4", "type": "app", "expires_at": "2030-01-01T00:00:00Z"},
        headers=headers,
    )
    body = response.json()
    assert response.status_code == 201
    assert {k: body[k] for k in ("uid", "type", "blocked")} == {
        "uid": "04A2B3C4",
        "type": "app",
        "blocked": False,
    }
    assert body["expires_at"].startswith("2030-01-01T00:00:00")


async def test_blocking_a_user_clears_every_charger_cache_and_ends_its_logins(
    uow, client, revocations
) -> None:
    async with uow() as s:
        world = await make_operator(s)
        user = await make_user(s, world.operator, world.default_account)
        headers = await bearer(s, world.admin)
        user_headers = await bearer(s, user)
    response = await client.patch(f"{API}/users/{user.id}", json={"blocked": True}, headers=headers)
    assert response.status_code == 200 and response.json()["blocked"] is True
    assert revocations == [Revocation(world.operator.id, None)]
    assert (await client.get(f"{API}/me", headers=user_headers)).status_code == 401


async def test_blocking_a_token_clears_every_charger_cache(uow, client, revocations) -> None:
    async with uow() as s:
        world = await make_operator(s)
        user = await make_user(s, world.operator, world.default_account)
        token = await make_driver_token(s, user)
        headers = await bearer(s, world.admin)
    response = await client.patch(
        f"{API}/tokens/{token.id}", json={"blocked": True}, headers=headers
    )
    assert response.status_code == 200 and response.json()["blocked"] is True
    assert revocations == [Revocation(world.operator.id, None)]


async def test_account_admins_manage_tokens_of_their_members_but_do_not_block_users(
    uow, client
) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        admin = await make_user(s, world.operator, acme, admin_of=(acme,))
        member = await make_user(s, world.operator, acme)
        headers = await bearer(s, admin)
    token = await client.post(
        f"{API}/users/{member.id}/tokens", json={"uid": "CARD1"}, headers=headers
    )
    block = await client.patch(f"{API}/users/{member.id}", json={"blocked": True}, headers=headers)
    assert token.status_code == 201
    assert block.status_code == 403


async def test_drivers_read_their_own_tokens(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        user = await make_user(s, world.operator, world.default_account)
        token = await make_driver_token(s, user)
        headers = await bearer(s, user)
    response = await client.get(f"{API}/users/{user.id}/tokens", headers=headers)
    assert [t["id"] for t in response.json()] == [token.id]


async def test_the_same_idempotency_key_of_another_user_creates_its_own_token(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        admin = await make_user(s, world.operator, acme, admin_of=(acme,))
        member = await make_user(s, world.operator, acme)
        op_headers = {**await bearer(s, world.admin), "Idempotency-Key": "same"}
        admin_headers = {**await bearer(s, admin), "Idempotency-Key": "same"}
    url = f"{API}/users/{member.id}/tokens"
    first = await client.post(url, json={"uid": "ONE"}, headers=op_headers)
    second = await client.post(url, json={"uid": "TWO"}, headers=admin_headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
