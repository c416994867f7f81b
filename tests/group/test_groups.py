from __future__ import annotations

from sqlalchemy import func, select

from chargegroups.charger.revocation import Revocation
from chargegroups.models import (
    AuditEvent,
    ChargerScope,
    GroupDiscount,
    GroupMembership,
    RatePlan,
    UserGroup,
)
from tests.fixtures.factories import (
    add_member,
    bearer,
    link_scope,
    make_account,
    make_charger,
    make_group,
    make_operator,
    make_user,
)

API = "/api/v1"


def account_scope(account_id: str) -> dict[str, str]:
    return {"kind": "account", "account_id": account_id}


async def test_operator_admin_creates_a_global_and_an_account_level_group(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        owner = await make_user(s, world.operator, acme)
        headers = await bearer(s, world.admin)
    glob = await client.post(
        f"{API}/groups", json={"name": "Staff", "scope": {"kind": "all_accounts"}}, headers=headers
    )
    local = await client.post(
        f"{API}/groups",
        json={
            "name": "Vans",
            "scope": account_scope(acme.id),
            "auto_assign": True,
            "financial_owner_id": owner.id,
            "pays_at": "scoped_chargers",
        },
        headers=headers,
    )
    assert glob.status_code == 201 and local.status_code == 201
    assert glob.json()["scope"] == {"kind": "all_accounts", "account_id": None}
    body = local.json()
    assert body["scope"] == {"kind": "account", "account_id": acme.id}
    assert (body["auto_assign"], body["financial_owner_id"], body["pays_at"]) == (
        True,
        owner.id,
        "scoped_chargers",
    )
    assert (body["version"], body["read_only"], body["member_count"]) == (1, False, 0)


async def test_changing_a_groups_scope_is_a_409_that_says_to_create_a_new_group(
    uow, client
) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        group = await make_group(s, world.operator, account=acme)
        headers = await bearer(s, world.admin)
    response = await client.patch(
        f"{API}/groups/{group.id}", json={"scope": {"kind": "all_accounts"}}, headers=headers
    )
    assert response.status_code == 409
    assert response.json()["code"] == "scope_immutable"
    assert "create a new group" in response.json()["detail"]


async def test_restating_the_current_scope_is_accepted(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        group = await make_group(s, world.operator, account=acme)
        headers = await bearer(s, world.admin)
    response = await client.patch(
        f"{API}/groups/{group.id}",
        json={"scope": account_scope(acme.id), "description": "x"},
        headers=headers,
    )
    assert response.status_code == 200 and response.json()["description"] == "x"


async def test_group_names_are_unique_per_scope_case_insensitively(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        other = await make_account(s, world.operator)
        await make_group(s, world.operator, account=acme, name="Vans")
        await make_group(s, world.operator, name="Staff")
        headers = await bearer(s, world.admin)

    async def create(name: str, scope: dict[str, str]) -> tuple[int, str | None]:
        r = await client.post(f"{API}/groups", json={"name": name, "scope": scope}, headers=headers)
        return r.status_code, r.json().get("code")

    assert await create("VANS", account_scope(acme.id)) == (409, "name_taken")
    assert await create("  staff ", {"kind": "all_accounts"}) == (409, "name_taken")
    assert (await create("Vans", account_scope(other.id)))[0] == 201
    assert (await create("Vans", {"kind": "all_accounts"}))[0] == 201
    assert (await create("Staff", account_scope(acme.id)))[0] == 201


async def test_renaming_onto_a_taken_name_is_a_409(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        await make_group(s, world.operator, name="Staff")
        group = await make_group(s, world.operator, name="Guests")
        headers = await bearer(s, world.admin)
    response = await client.patch(
        f"{API}/groups/{group.id}", json={"name": "STAFF"}, headers=headers
    )
    assert response.status_code == 409 and response.json()["code"] == "name_taken"


async def test_auto_assign_on_a_global_group_is_a_422(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        group = await make_group(s, world.operator)
        headers = await bearer(s, world.admin)
    created = await client.post(
        f"{API}/groups",
        json={"name": "All", "scope": {"kind": "all_accounts"}, "auto_assign": True},
        headers=headers,
    )
    patched = await client.patch(
        f"{API}/groups/{group.id}", json={"auto_assign": True}, headers=headers
    )
    assert (created.status_code, created.json()["code"]) == (422, "auto_assign_global")
    assert (patched.status_code, patched.json()["code"]) == (422, "auto_assign_global")


async def test_an_account_groups_financial_owner_must_be_a_member_of_that_account(
    uow, client
) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        other = await make_account(s, world.operator)
        outsider = await make_user(s, world.operator, other)
        headers = await bearer(s, world.admin)
    response = await client.post(
        f"{API}/groups",
        json={"name": "Vans", "scope": account_scope(acme.id), "financial_owner_id": outsider.id},
        headers=headers,
    )
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_financial_owner"


async def test_a_global_groups_financial_owner_may_be_any_user_of_the_operator_only(
    uow, client
) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        anyone = await make_user(s, world.operator, acme)
        elsewhere = await make_operator(s)
        stranger = await make_user(s, elsewhere.operator, elsewhere.default_account)
        headers = await bearer(s, world.admin)

    async def create(name: str, owner_id: str) -> int:
        r = await client.post(
            f"{API}/groups",
            json={"name": name, "scope": {"kind": "all_accounts"}, "financial_owner_id": owner_id},
            headers=headers,
        )
        return r.status_code

    assert await create("Staff", anyone.id) == 201
    assert await create("Guests", stranger.id) == 422


async def test_account_admins_create_groups_only_where_the_operator_delegated_it(
    uow, client
) -> None:
    async with uow() as s:
        world = await make_operator(s)
        open_ = await make_account(s, world.operator, admins_may_create_groups=True)
        closed = await make_account(s, world.operator)
        admin = await make_user(s, world.operator, open_, admin_of=(open_, closed))
        headers = await bearer(s, admin)
    allowed = await client.post(
        f"{API}/groups", json={"name": "Vans", "scope": account_scope(open_.id)}, headers=headers
    )
    refused = await client.post(
        f"{API}/groups", json={"name": "Vans", "scope": account_scope(closed.id)}, headers=headers
    )
    assert allowed.status_code == 201
    assert allowed.json()["read_only"] is False
    assert (refused.status_code, refused.json()["code"]) == (403, "group_creation_not_delegated")


async def test_account_admins_never_create_global_groups(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator, admins_may_create_groups=True)
        admin = await make_user(s, world.operator, acme, admin_of=(acme,))
        headers = await bearer(s, admin)
    response = await client.post(
        f"{API}/groups", json={"name": "All", "scope": {"kind": "all_accounts"}}, headers=headers
    )
    assert response.status_code == 403


async def test_account_admin_sees_a_global_group_in_its_chargers_scope_read_only(
    uow, client
) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        admin = await make_user(s, world.operator, acme, admin_of=(acme,))
        charger = await make_charger(s, world.operator, account=acme)
        glob = await make_group(s, world.operator, name="Staff")
        await link_scope(s, charger, glob)
        headers = await bearer(s, admin)
    response = await client.get(f"{API}/groups/{glob.id}", headers=headers)
    assert response.status_code == 200 and response.json()["read_only"] is True


async def test_account_admin_does_not_see_a_global_group_that_touches_nothing_of_its(
    uow, client
) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        other = await make_account(s, world.operator)
        admin = await make_user(s, world.operator, acme, admin_of=(acme,))
        glob = await make_group(s, world.operator)
        await add_member(s, glob, await make_user(s, world.operator, other))
        headers = await bearer(s, admin)
    assert (await client.get(f"{API}/groups/{glob.id}", headers=headers)).status_code == 404
    listed = (await client.get(f"{API}/groups", headers=headers)).json()["items"]
    assert listed == []


async def test_every_write_by_an_account_admin_to_a_global_group_is_group_read_only(
    uow, client
) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        admin = await make_user(s, world.operator, acme, admin_of=(acme,))
        driver = await make_user(s, world.operator, acme)
        charger = await make_charger(s, world.operator, account=acme)
        glob = await make_group(s, world.operator)
        await add_member(s, glob, driver)
        headers = await bearer(s, admin)
    g = f"{API}/groups/{glob.id}"
    writes = [
        ("PATCH", g, {"description": "x"}),
        ("DELETE", g, None),
        ("POST", f"{g}/members", {"user_ids": [admin.id]}),
        ("POST", f"{g}/members/add-all-account-members", None),
        ("DELETE", f"{g}/members/{driver.id}", None),
        ("PUT", f"{API}/chargers/{charger.id}/scope/{glob.id}", None),
        ("DELETE", f"{API}/chargers/{charger.id}/scope/{glob.id}", None),
    ]
    for method, url, body in writes:
        response = await client.request(method, url, json=body, headers=headers)
        assert (response.status_code, response.json()["code"]) == (403, "group_read_only"), url


async def test_account_admins_do_not_rename_or_delete_even_their_own_groups(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        admin = await make_user(s, world.operator, acme, admin_of=(acme,))
        group = await make_group(s, world.operator, account=acme)
        headers = await bearer(s, admin)
    renamed = await client.patch(f"{API}/groups/{group.id}", json={"name": "x"}, headers=headers)
    deleted = await client.delete(f"{API}/groups/{group.id}", headers=headers)
    assert (renamed.status_code, renamed.json()["code"]) == (403, "operator_admin_only")
    assert deleted.status_code == 403


async def test_get_group_returns_its_version_as_etag_and_a_stale_if_match_is_412(
    uow, client
) -> None:
    async with uow() as s:
        world = await make_operator(s)
        group = await make_group(s, world.operator)
        headers = await bearer(s, world.admin)
    read = await client.get(f"{API}/groups/{group.id}", headers=headers)
    etag = read.headers["ETag"]
    assert etag == '"1"'
    first = await client.patch(
        f"{API}/groups/{group.id}", json={"name": "A"}, headers={**headers, "If-Match": etag}
    )
    stale = await client.patch(
        f"{API}/groups/{group.id}", json={"name": "B"}, headers={**headers, "If-Match": etag}
    )
    assert first.status_code == 200 and first.headers["ETag"] == '"2"'
    assert (stale.status_code, stale.json()["code"]) == (412, "stale_version")
    assert (await client.get(f"{API}/groups/{group.id}", headers=headers)).json()["name"] == "A"


async def test_creating_post_with_the_same_idempotency_key_replays_the_first_result(
    uow, client
) -> None:
    async with uow() as s:
        world = await make_operator(s)
        headers = {**await bearer(s, world.admin), "Idempotency-Key": "create-staff"}
    body = {"name": "Staff", "scope": {"kind": "all_accounts"}}
    first = await client.post(f"{API}/groups", json=body, headers=headers)
    again = await client.post(f"{API}/groups", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    async with uow() as s:
        assert await s.scalar(select(func.count()).select_from(UserGroup)) == 1


async def test_an_idempotency_key_reused_with_another_body_is_a_422(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        headers = {**await bearer(s, world.admin), "Idempotency-Key": "k"}
    await client.post(
        f"{API}/groups", json={"name": "A", "scope": {"kind": "all_accounts"}}, headers=headers
    )
    other = await client.post(
        f"{API}/groups", json={"name": "B", "scope": {"kind": "all_accounts"}}, headers=headers
    )
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")


async def test_deleting_a_group_removes_memberships_scope_links_and_discounts_at_once(
    uow, client, revocations
) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        group = await make_group(s, world.operator, account=acme)
        await add_member(s, group, await make_user(s, world.operator, acme))
        charger = await make_charger(s, world.operator, account=acme, access_mode="private")
        await link_scope(s, charger, group)
        plan = RatePlan(
            operator_id=world.operator.id, name="P", name_normalized="p", currency="EUR"
        )
        s.add(plan)
        await s.flush()
        s.add(
            GroupDiscount(
                rate_plan_id=plan.id, group_id=group.id, operator_id=plan.operator_id, free=True
            )
        )
        headers = await bearer(s, world.admin)
    response = await client.delete(f"{API}/groups/{group.id}", headers=headers)
    assert response.status_code == 204
    async with uow() as s:
        for table in (GroupMembership, ChargerScope, GroupDiscount, UserGroup):
            assert await s.scalar(select(func.count()).select_from(table)) == 0
        event = (
            await s.execute(select(AuditEvent).where(AuditEvent.action == "group.deleted"))
        ).scalar_one()
    assert event.before is not None
    assert (event.before["member_count"], event.before["scope_charger_ids"]) == (1, [charger.id])
    assert event.before["discounts"][0]["free"] is True
    assert event.account_id == acme.id
    assert revocations == [Revocation(world.operator.id, frozenset({charger.id}))]


async def test_groups_list_filters_by_scope_and_account(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        other = await make_account(s, world.operator)
        glob = await make_group(s, world.operator)
        mine = await make_group(s, world.operator, account=acme)
        theirs = await make_group(s, world.operator, account=other)
        headers = await bearer(s, world.admin)

    async def ids(query: str) -> list[str]:
        r = await client.get(f"{API}/groups?{query}", headers=headers)
        return [g["id"] for g in r.json()["items"]]

    assert await ids("scope=all_accounts") == [glob.id]
    assert await ids("scope=account") == [mine.id, theirs.id]
    assert await ids(f"account_id={acme.id}") == [mine.id]


async def test_drivers_list_the_groups_they_are_in_read_only(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        driver = await make_user(s, world.operator, acme)
        mine = await make_group(s, world.operator, account=acme)
        await make_group(s, world.operator, account=acme)
        await add_member(s, mine, driver)
        headers = await bearer(s, driver)
    items = (await client.get(f"{API}/groups", headers=headers)).json()["items"]
    assert [(g["id"], g["read_only"]) for g in items] == [(mine.id, True)]


async def test_every_group_change_is_audited_with_its_account_for_account_admins(
    uow, client
) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        admin = await make_user(s, world.operator, acme, admin_of=(acme,))
        headers = await bearer(s, world.admin)
        admin_headers = await bearer(s, admin)
    created = await client.post(
        f"{API}/groups", json={"name": "Vans", "scope": account_scope(acme.id)}, headers=headers
    )
    group_id = created.json()["id"]
    await client.patch(f"{API}/groups/{group_id}", json={"name": "Trucks"}, headers=headers)
    await client.post(
        f"{API}/groups/{group_id}/members", json={"user_ids": [admin.id]}, headers=admin_headers
    )
    events = (
        await client.get(f"{API}/audit-events?target_id={group_id}", headers=admin_headers)
    ).json()["items"]
    assert [e["action"] for e in events] == ["membership.added", "group.updated", "group.created"]
    assert events[1]["before"]["name"] == "Vans" and events[1]["after"]["name"] == "Trucks"


async def test_a_name_that_case_folding_makes_too_long_is_a_422_not_a_crash(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        headers = await bearer(s, world.admin)
    response = await client.post(
        f"{API}/groups",
        json={"name": "ß" * 120, "scope": {"kind": "all_accounts"}},
        headers=headers,
    )
    assert (response.status_code, response.json()["code"]) == (422, "name_too_long")
