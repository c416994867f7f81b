from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from chargegroups.charger.revocation import Revocation
from chargegroups.kit.clock import utcnow
from chargegroups.models import GroupMembership
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


async def memberships(uow) -> list[GroupMembership]:
    async with uow() as s:
        return list((await s.execute(select(GroupMembership))).scalars())


async def test_bulk_add_is_all_or_nothing_and_lists_the_bad_ids(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        good = [await make_user(s, world.operator, acme) for _ in range(3)]
        group = await make_group(s, world.operator, account=acme)
        headers = await bearer(s, world.admin)
    response = await client.post(
        f"{API}/groups/{group.id}/members",
        json={"user_ids": [good[0].id, "no-such-user", good[1].id, good[2].id]},
        headers=headers,
    )
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_user_ids"
    assert response.json()["invalid_user_ids"] == ["no-such-user"]
    assert await memberships(uow) == []


async def test_users_of_another_account_are_refused_exactly_like_unknown_ids(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        other = await make_account(s, world.operator)
        outsider = await make_user(s, world.operator, other)
        admin = await make_user(s, world.operator, acme, admin_of=(acme,))
        group = await make_group(s, world.operator, account=acme)
        headers = await bearer(s, admin)

    async def refusal(user_id: str) -> dict[str, object]:
        r = await client.post(
            f"{API}/groups/{group.id}/members", json={"user_ids": [user_id]}, headers=headers
        )
        assert r.status_code == 422
        body = r.json()
        return {k: v for k, v in body.items() if k not in ("request_id", "invalid_user_ids")}

    assert await refusal(outsider.id) == await refusal("01900000-0000-7000-8000-000000000000")


async def test_a_global_group_takes_users_of_any_account_but_not_of_another_operator(
    uow, client
) -> None:
    async with uow() as s:
        world = await make_operator(s)
        a = await make_user(s, world.operator, await make_account(s, world.operator))
        b = await make_user(s, world.operator, await make_account(s, world.operator))
        elsewhere = await make_operator(s)
        stranger = await make_user(s, elsewhere.operator, elsewhere.default_account)
        group = await make_group(s, world.operator)
        headers = await bearer(s, world.admin)
    url = f"{API}/groups/{group.id}/members"
    ok = await client.post(url, json={"user_ids": [a.id, b.id]}, headers=headers)
    refused = await client.post(url, json={"user_ids": [stranger.id]}, headers=headers)
    assert ok.status_code == 200 and sorted(ok.json()["added_user_ids"]) == sorted([a.id, b.id])
    assert refused.status_code == 422


async def test_users_who_are_members_already_are_left_as_they_are_and_reported(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        old, new = (
            await make_user(s, world.operator, acme),
            await make_user(s, world.operator, acme),
        )
        group = await make_group(s, world.operator, account=acme)
        await add_member(s, group, old, source="invitation")
        headers = await bearer(s, world.admin)
    until = (utcnow() + timedelta(days=3)).isoformat()
    response = await client.post(
        f"{API}/groups/{group.id}/members",
        json={"user_ids": [old.id, new.id, new.id], "valid_until": until},
        headers=headers,
    )
    assert response.json() == {"added_user_ids": [new.id], "already_member_ids": [old.id]}
    rows = {m.user_id: m for m in await memberships(uow)}
    assert (rows[old.id].source, rows[old.id].valid_until) == ("invitation", None)
    assert rows[new.id].valid_until is not None


async def test_a_membership_records_who_added_it_when_and_how(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        user = await make_user(s, world.operator, acme)
        group = await make_group(s, world.operator, account=acme)
        headers = await bearer(s, world.admin)
    until = utcnow() + timedelta(days=30)
    await client.post(
        f"{API}/groups/{group.id}/members",
        json={"user_ids": [user.id], "valid_until": until.isoformat()},
        headers=headers,
    )
    listed = (await client.get(f"{API}/groups/{group.id}/members", headers=headers)).json()
    [member] = listed["items"]
    assert (member["user_id"], member["source"], member["added_by_id"]) == (
        user.id,
        "manual",
        world.admin.id,
    )
    assert member["created_at"] and member["expired"] is False
    assert member["valid_until"].startswith(until.strftime("%Y-%m-%dT%H:%M:%S"))


async def test_valid_until_must_carry_a_time_zone(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        user = await make_user(s, world.operator, world.default_account)
        group = await make_group(s, world.operator)
        headers = await bearer(s, world.admin)
    response = await client.post(
        f"{API}/groups/{group.id}/members",
        json={"user_ids": [user.id], "valid_until": "2030-01-01T00:00:00"},
        headers=headers,
    )
    assert response.status_code == 422


async def test_expired_memberships_are_shown_as_expired_and_count_nowhere(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        user = await make_user(s, world.operator, acme)
        group = await make_group(s, world.operator, account=acme)
        await add_member(s, group, user, valid_until=utcnow() - timedelta(minutes=1))
        headers = await bearer(s, world.admin)
        user_headers = await bearer(s, user)
    members = (await client.get(f"{API}/groups/{group.id}/members", headers=headers)).json()
    group_out = (await client.get(f"{API}/groups/{group.id}", headers=headers)).json()
    in_account = (await client.get(f"{API}/accounts/{acme.id}/members", headers=headers)).json()
    me = (await client.get(f"{API}/me", headers=user_headers)).json()
    assert members["items"][0]["expired"] is True
    assert group_out["member_count"] == 0
    assert in_account["items"][0]["groups"] == []
    assert me["groups"] == []


async def test_add_all_account_members_back_fills_once_with_source_auto_assign(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        users = [await make_user(s, world.operator, acme) for _ in range(3)]
        await make_user(s, world.operator, await make_account(s, world.operator))
        group = await make_group(s, world.operator, account=acme, auto_assign=True)
        await add_member(s, group, users[0])
        headers = await bearer(s, world.admin)
    url = f"{API}/groups/{group.id}/members/add-all-account-members"
    first = await client.post(url, headers=headers)
    again = await client.post(url, headers=headers)
    assert sorted(first.json()["added_user_ids"]) == sorted(u.id for u in users[1:])
    assert again.json()["added_user_ids"] == []
    sources = sorted(m.source for m in await memberships(uow))
    assert sources == ["auto_assign", "auto_assign", "manual"]


async def test_more_than_ten_thousand_ids_in_one_call_are_refused(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        group = await make_group(s, world.operator)
        headers = await bearer(s, world.admin)
    ids = [f"u{i}" for i in range(10_001)]
    response = await client.post(
        f"{API}/groups/{group.id}/members", json={"user_ids": ids}, headers=headers
    )
    assert response.status_code == 422


async def test_removing_a_member_clears_the_caches_of_the_groups_chargers(
    uow, client, revocations
) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        user = await make_user(s, world.operator, acme)
        group = await make_group(s, world.operator, account=acme)
        await add_member(s, group, user)
        charger = await make_charger(s, world.operator, account=acme, access_mode="private")
        await link_scope(s, charger, group)
        headers = await bearer(s, world.admin)
    response = await client.delete(f"{API}/groups/{group.id}/members/{user.id}", headers=headers)
    assert response.status_code == 204
    assert await memberships(uow) == []
    assert revocations == [Revocation(world.operator.id, frozenset({charger.id}))]


async def test_removing_a_non_member_is_a_404(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        user = await make_user(s, world.operator, world.default_account)
        group = await make_group(s, world.operator)
        headers = await bearer(s, world.admin)
    response = await client.delete(f"{API}/groups/{group.id}/members/{user.id}", headers=headers)
    assert response.status_code == 404


async def test_account_admins_see_only_their_own_members_of_a_global_group(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        other = await make_account(s, world.operator)
        admin = await make_user(s, world.operator, acme, admin_of=(acme,))
        mine = await make_user(s, world.operator, acme)
        glob = await make_group(s, world.operator)
        await add_member(s, glob, mine)
        await add_member(s, glob, await make_user(s, world.operator, other))
        headers = await bearer(s, admin)
    items = (await client.get(f"{API}/groups/{glob.id}/members", headers=headers)).json()["items"]
    assert [m["user_id"] for m in items] == [mine.id]


async def test_group_members_page_by_cursor_without_gaps_or_repeats(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        group = await make_group(s, world.operator)
        users = [await make_user(s, world.operator, world.default_account) for _ in range(7)]
        for user in users:
            await add_member(s, group, user)
        headers = await bearer(s, world.admin)
    seen: list[str] = []
    cursor = None
    while True:
        query = f"?limit=3&cursor={cursor}" if cursor else "?limit=3"
        page = (await client.get(f"{API}/groups/{group.id}/members{query}", headers=headers)).json()
        seen += [m["user_id"] for m in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(u.id for u in users)


async def test_auto_assign_on_adds_nobody_until_the_explicit_back_fill(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        await make_user(s, world.operator, acme)
        group = await make_group(s, world.operator, account=acme)
        headers = await bearer(s, world.admin)
    await client.patch(f"{API}/groups/{group.id}", json={"auto_assign": True}, headers=headers)
    async with uow() as s:
        assert await s.scalar(select(func.count()).select_from(GroupMembership)) == 0
