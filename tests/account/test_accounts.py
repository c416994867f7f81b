from __future__ import annotations

from tests.fixtures.factories import (
    add_member,
    bearer,
    make_account,
    make_group,
    make_operator,
    make_user,
)

API = "/api/v1"


async def test_a_domain_belongs_to_at_most_one_account_per_operator(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        await make_account(s, world.operator, domains=("acme.com",))
        other = await make_account(s, world.operator)
        headers = await bearer(s, world.admin)
    response = await client.patch(
        f"{API}/accounts/{other.id}", json={"email_domains": ["ACME.com."]}, headers=headers
    )
    assert (response.status_code, response.json()["code"]) == (409, "domain_taken")
    assert response.json()["domains"] == ["acme.com"]


async def test_another_operator_may_use_the_same_domain(uow, client) -> None:
    async with uow() as s:
        elsewhere = await make_operator(s)
        await make_account(s, elsewhere.operator, domains=("acme.com",))
        world = await make_operator(s)
        headers = await bearer(s, world.admin)
    response = await client.post(
        f"{API}/accounts", json={"name": "Acme", "email_domains": ["acme.com"]}, headers=headers
    )
    assert response.status_code == 201 and response.json()["email_domains"] == ["acme.com"]


async def test_domains_are_compared_after_idna_normalisation(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        await make_account(s, world.operator, domains=("xn--bcher-kva.example",))
        headers = await bearer(s, world.admin)
    response = await client.post(
        f"{API}/accounts", json={"name": "B", "email_domains": ["Bücher.example"]}, headers=headers
    )
    assert response.status_code == 409


async def test_an_invalid_domain_is_a_422(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        headers = await bearer(s, world.admin)
    response = await client.post(
        f"{API}/accounts", json={"name": "B", "email_domains": ["localhost"]}, headers=headers
    )
    assert (response.status_code, response.json()["code"]) == (422, "invalid_domain")


async def test_account_names_are_unique_per_operator(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        await make_account(s, world.operator, name="acme")
        headers = await bearer(s, world.admin)
    response = await client.post(f"{API}/accounts", json={"name": "ACME"}, headers=headers)
    assert (response.status_code, response.json()["code"]) == (409, "name_taken")


async def test_account_admins_rename_their_account_but_change_nothing_else(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        admin = await make_user(s, world.operator, acme, admin_of=(acme,))
        headers = await bearer(s, admin)
    url = f"{API}/accounts/{acme.id}"
    renamed = await client.patch(url, json={"name": "Acme Fleet"}, headers=headers)
    delegated = await client.patch(url, json={"admins_may_create_groups": True}, headers=headers)
    assert renamed.status_code == 200 and renamed.json()["name"] == "Acme Fleet"
    assert (delegated.status_code, delegated.json()["code"]) == (403, "field_not_permitted")


async def test_members_list_in_the_users_in_lists_shape(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        user = await make_user(s, world.operator, acme, email="ann@acme.com", name="Ann")
        vans = await make_group(s, world.operator, account=acme, name="Vans")
        paid = await make_group(s, world.operator, account=acme, name="Paid", financial_owner=user)
        await add_member(s, vans, user)
        headers = await bearer(s, world.admin)
    items = (await client.get(f"{API}/accounts/{acme.id}/members", headers=headers)).json()["items"]
    assert items == [
        {
            "id": user.id,
            "email": "ann@acme.com",
            "name": "Ann",
            "account_id": acme.id,
            "blocked": False,
            "groups": [{"id": vans.id, "name": "Vans"}],
            "financial_groups": [{"id": paid.id, "name": "Paid"}],
        }
    ]


async def test_members_filter_by_name_or_email_and_by_group(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        ann = await make_user(s, world.operator, acme, email="ann@acme.com", name="Ann")
        bob = await make_user(s, world.operator, acme, email="bob@acme.com", name="Bob Smith")
        group = await make_group(s, world.operator, account=acme)
        await add_member(s, group, ann)
        headers = await bearer(s, world.admin)

    async def ids(query: str) -> list[str]:
        r = await client.get(f"{API}/accounts/{acme.id}/members?{query}", headers=headers)
        return [u["id"] for u in r.json()["items"]]

    assert await ids("q=SMITH") == [bob.id]
    assert await ids("q=ann@") == [ann.id]
    assert await ids("q=%25") == []
    assert await ids(f"group_id={group.id}") == [ann.id]


async def test_granting_account_admin_lets_the_user_read_the_account(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        user = await make_user(s, world.operator, acme)
        headers = await bearer(s, world.admin)
        user_headers = await bearer(s, user)
    url = f"{API}/accounts/{acme.id}"
    assert (await client.get(url, headers=user_headers)).status_code == 404
    granted = await client.post(f"{url}/admins", json={"user_id": user.id}, headers=headers)
    assert granted.status_code == 201
    assert (await client.get(url, headers=user_headers)).status_code == 200
    again = await client.post(f"{url}/admins", json={"user_id": user.id}, headers=headers)
    assert (again.status_code, again.json()["code"]) == (409, "already_admin")
    assert (await client.delete(f"{url}/admins/{user.id}", headers=headers)).status_code == 204
    assert (await client.get(url, headers=user_headers)).status_code == 404


async def test_only_users_of_the_operator_become_account_admins(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        elsewhere = await make_operator(s)
        headers = await bearer(s, world.admin)
    response = await client.post(
        f"{API}/accounts/{acme.id}/admins", json={"user_id": elsewhere.admin.id}, headers=headers
    )
    assert (response.status_code, response.json()["code"]) == (422, "unknown_user")


async def test_creating_an_account_twice_with_one_idempotency_key_creates_one(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        headers = {**await bearer(s, world.admin), "Idempotency-Key": "acme-1"}
    first = await client.post(f"{API}/accounts", json={"name": "Acme"}, headers=headers)
    again = await client.post(f"{API}/accounts", json={"name": "Acme"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
