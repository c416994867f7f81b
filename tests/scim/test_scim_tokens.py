"""A10: an account's SCIM tokens — made by its admins, shown once, stored hashed, revoked at
once; nobody outside the account's reach sees them (R3)."""

from __future__ import annotations

from sqlalchemy import select

from chargegroups.kit.secrets import hash_token
from chargegroups.models import AuditEvent, ScimToken
from tests.fixtures.factories import bearer, make_account, make_operator, make_user

API = "/api/v1"


async def test_an_account_admin_makes_a_token_shown_once_and_stored_hashed(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator, name="Acme")
        admin = await make_user(s, world.operator, acme, name="Ada Admin", admin_of=(acme,))
        headers = await bearer(s, admin)
    made = await client.post(
        f"{API}/accounts/{acme.id}/scim-tokens", json={"name": "Entra ID"}, headers=headers
    )
    listed = await client.get(f"{API}/accounts/{acme.id}/scim-tokens", headers=headers)
    body = made.json()
    assert made.status_code == 201
    assert body["base_url"] == "http://testserver/scim/v2"
    assert body["token"].startswith("cg_scim_")
    assert body["created_by_name"] == "Ada Admin"
    [entry] = listed.json()
    assert entry["id"] == body["id"]
    assert (entry["name"], entry["created_by_name"], entry["last_used_at"]) == (
        "Entra ID",
        "Ada Admin",
        None,
    )
    assert "token" not in entry
    async with uow() as s:
        stored = await s.get_one(ScimToken, body["id"])
        events = (await s.execute(select(AuditEvent.action, AuditEvent.actor_id))).all()
    assert stored.token_hash == hash_token(body["token"]) != body["token"]
    assert ("scim_token.created", admin.id) in events


async def test_a_revoked_token_is_refused_at_once_and_leaves_the_list(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        headers = await bearer(s, world.admin)
    made = (
        await client.post(
            f"{API}/accounts/{acme.id}/scim-tokens", json={"name": "Okta"}, headers=headers
        )
    ).json()
    scim = {"Authorization": f"Bearer {made['token']}"}
    before = await client.get("/scim/v2/Users", headers=scim)
    revoked = await client.delete(
        f"{API}/accounts/{acme.id}/scim-tokens/{made['id']}", headers=headers
    )
    after = await client.get("/scim/v2/Users", headers=scim)
    again = await client.delete(
        f"{API}/accounts/{acme.id}/scim-tokens/{made['id']}", headers=headers
    )
    listed = await client.get(f"{API}/accounts/{acme.id}/scim-tokens", headers=headers)
    assert before.status_code == 200
    assert revoked.status_code == 204
    assert after.status_code == 401
    assert after.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert again.status_code == 404
    assert listed.json() == []


async def test_a_token_records_when_it_was_last_used(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        headers = await bearer(s, world.admin)
    made = (
        await client.post(
            f"{API}/accounts/{acme.id}/scim-tokens", json={"name": "Okta"}, headers=headers
        )
    ).json()
    await client.get("/scim/v2/Users", headers={"Authorization": f"Bearer {made['token']}"})
    [entry] = (await client.get(f"{API}/accounts/{acme.id}/scim-tokens", headers=headers)).json()
    assert entry["last_used_at"] is not None


async def test_tokens_are_out_of_reach_of_other_admins_drivers_and_operators(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        other = await make_account(s, world.operator)
        other_admin = await make_user(s, world.operator, other, admin_of=(other,))
        driver = await make_user(s, world.operator, acme)
        elsewhere = await make_operator(s)
        headers = await bearer(s, world.admin)
        strangers = [
            await bearer(s, other_admin),
            await bearer(s, driver),
            await bearer(s, elsewhere.admin),
        ]
    made = (
        await client.post(
            f"{API}/accounts/{acme.id}/scim-tokens", json={"name": "Okta"}, headers=headers
        )
    ).json()
    tokens = f"{API}/accounts/{acme.id}/scim-tokens"
    for stranger in strangers:
        answers = [
            await client.get(tokens, headers=stranger),
            await client.post(tokens, json={"name": "mine"}, headers=stranger),
            await client.delete(f"{tokens}/{made['id']}", headers=stranger),
        ]
        assert [a.status_code for a in answers] == [404, 404, 404]
    assert len((await client.get(tokens, headers=headers)).json()) == 1
