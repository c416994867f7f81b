from __future__ import annotations

from sqlalchemy import select

from chargegroups.charger.revocation import Revocation
from chargegroups.kit.secrets import verify_password
from chargegroups.models import Charger
from tests.fixtures.factories import (
    bearer,
    link_scope,
    make_account,
    make_charger,
    make_group,
    make_operator,
    make_user,
)

API = "/api/v1"


def charger_body(**overrides: object) -> dict[str, object]:
    return {
        "charge_point_id": "CP-1",
        "name": "Depot 1",
        "site": "Depot",
        "access_mode": "private",
        "connectors": 2,
        "password": "ocpp-secret",
        **overrides,
    }


async def test_a_new_chargers_password_is_stored_hashed_and_never_returned(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        headers = await bearer(s, world.admin)
    response = await client.post(f"{API}/chargers", json=charger_body(), headers=headers)
    assert response.status_code == 201
    body = response.json()
    assert "password" not in body and "password_hash" not in body
    assert (body["charge_point_id"], body["connectors"], body["online"]) == ("CP-1", 2, False)
    async with uow() as s:
        charger = (await s.execute(select(Charger))).scalar_one()
    assert verify_password("ocpp-secret", charger.password_hash)


async def test_charge_point_ids_are_unique_across_operators(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        elsewhere = await make_operator(s)
        await make_charger(s, elsewhere.operator, charge_point_id="CP-1")
        headers = await bearer(s, world.admin)
    response = await client.post(f"{API}/chargers", json=charger_body(), headers=headers)
    assert (response.status_code, response.json()["code"]) == (409, "charge_point_id_taken")


async def test_a_charger_of_an_unknown_account_is_a_422(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        headers = await bearer(s, world.admin)
    response = await client.post(
        f"{API}/chargers", json=charger_body(account_id="nope"), headers=headers
    )
    assert (response.status_code, response.json()["code"]) == (422, "unknown_account")


async def test_account_admins_list_only_their_accounts_chargers(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        admin = await make_user(s, world.operator, acme, admin_of=(acme,))
        mine = await make_charger(s, world.operator, account=acme)
        await make_charger(s, world.operator)
        await make_charger(s, world.operator, account=await make_account(s, world.operator))
        headers = await bearer(s, admin)
    items = (await client.get(f"{API}/chargers", headers=headers)).json()["items"]
    assert [c["id"] for c in items] == [mine.id]


async def test_account_admins_change_only_the_access_mode(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        admin = await make_user(s, world.operator, acme, admin_of=(acme,))
        charger = await make_charger(s, world.operator, account=acme)
        headers = await bearer(s, admin)
    url = f"{API}/chargers/{charger.id}"
    mode = await client.patch(url, json={"access_mode": "closed"}, headers=headers)
    other = await client.patch(url, json={"access_mode": "public", "name": "x"}, headers=headers)
    assert mode.status_code == 200 and mode.json()["access_mode"] == "closed"
    assert (other.status_code, other.json()["code"]) == (403, "field_not_permitted")


async def test_going_private_or_closed_clears_the_chargers_cache_going_public_does_not(
    uow, client, revocations
) -> None:
    async with uow() as s:
        world = await make_operator(s)
        charger = await make_charger(s, world.operator)
        headers = await bearer(s, world.admin)
    url = f"{API}/chargers/{charger.id}"
    await client.patch(url, json={"access_mode": "private"}, headers=headers)
    await client.patch(url, json={"access_mode": "public"}, headers=headers)
    assert revocations == [Revocation(world.operator.id, frozenset({charger.id}))]


async def test_the_scope_shows_each_group_read_only_or_not_for_the_caller(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        admin = await make_user(s, world.operator, acme, admin_of=(acme,))
        charger = await make_charger(s, world.operator, account=acme)
        own = await make_group(s, world.operator, account=acme)
        glob = await make_group(s, world.operator)
        await link_scope(s, charger, own)
        await link_scope(s, charger, glob)
        admin_headers = await bearer(s, admin)
        op_headers = await bearer(s, world.admin)
    url = f"{API}/chargers/{charger.id}/scope"
    as_admin = {
        g["group_id"]: g["read_only"] for g in (await client.get(url, headers=admin_headers)).json()
    }
    as_op = {
        g["group_id"]: g["read_only"] for g in (await client.get(url, headers=op_headers)).json()
    }
    assert as_admin == {own.id: False, glob.id: True}
    assert as_op == {own.id: False, glob.id: False}


async def test_account_admins_link_their_groups_to_their_chargers_idempotently(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        admin = await make_user(s, world.operator, acme, admin_of=(acme,))
        charger = await make_charger(s, world.operator, account=acme)
        group = await make_group(s, world.operator, account=acme)
        headers = await bearer(s, admin)
    url = f"{API}/chargers/{charger.id}/scope/{group.id}"
    assert (await client.put(url, headers=headers)).status_code == 204
    assert (await client.put(url, headers=headers)).status_code == 204
    scope = (await client.get(f"{API}/chargers/{charger.id}/scope", headers=headers)).json()
    assert [g["group_id"] for g in scope] == [group.id]


async def test_removing_a_scope_link_clears_the_chargers_cache(uow, client, revocations) -> None:
    async with uow() as s:
        world = await make_operator(s)
        charger = await make_charger(s, world.operator, access_mode="private")
        group = await make_group(s, world.operator)
        await link_scope(s, charger, group)
        headers = await bearer(s, world.admin)
    url = f"{API}/chargers/{charger.id}/scope/{group.id}"
    assert (await client.delete(url, headers=headers)).status_code == 204
    assert (await client.delete(url, headers=headers)).status_code == 404
    assert revocations == [Revocation(world.operator.id, frozenset({charger.id}))]


async def test_operator_admins_link_any_group_to_any_of_their_chargers(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        other = await make_account(s, world.operator)
        charger = await make_charger(s, world.operator, account=acme)
        group = await make_group(s, world.operator, account=other)
        headers = await bearer(s, world.admin)
    response = await client.put(f"{API}/chargers/{charger.id}/scope/{group.id}", headers=headers)
    assert response.status_code == 204


async def test_creating_a_charger_with_an_idempotency_key_creates_one(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        headers = {**await bearer(s, world.admin), "Idempotency-Key": "cp-1"}
    first = await client.post(f"{API}/chargers", json=charger_body(), headers=headers)
    again = await client.post(f"{API}/chargers", json=charger_body(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
