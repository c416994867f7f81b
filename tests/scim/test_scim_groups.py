"""A10 over SCIM Groups: the token's account's account-level groups; the ones its identity
provider makes are managed by it, and their members change nowhere else (409)."""

from __future__ import annotations

from sqlalchemy import select

from chargegroups.models import AuditEvent, GroupMembership, UserGroup
from tests.fixtures.factories import (
    bearer,
    link_scope,
    make_account,
    make_charger,
    make_group,
    make_operator,
    make_user,
)
from tests.scim.helpers import GROUP_SCHEMA, SCIM, patch_body, scim_headers

API = "/api/v1"


def group_body(name: str, *member_ids: str, **extra: object) -> dict[str, object]:
    return {
        "schemas": [GROUP_SCHEMA],
        "displayName": name,
        "members": [{"value": m} for m in member_ids],
        **extra,
    }


async def _member_ids(uow, group_id: str) -> set[str]:
    async with uow() as s:
        rows = await s.execute(
            select(GroupMembership.user_id).where(GroupMembership.group_id == group_id)
        )
        return set(rows.scalars())


async def test_a_pushed_group_is_an_account_group_managed_by_scim(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        ann = await make_user(s, world.operator, acme, name="Ann")
        headers = await scim_headers(s, acme)
    made = await client.post(
        f"{SCIM}/Groups", json=group_body("Drivers", ann.id, externalId="g-1"), headers=headers
    )
    body = made.json()
    assert made.status_code == 201, body
    assert (body["displayName"], body["externalId"]) == ("Drivers", "g-1")
    assert body["members"] == [
        {
            "value": ann.id,
            "type": "User",
            "$ref": f"http://testserver{SCIM}/Users/{ann.id}",
        }
    ]
    async with uow() as s:
        group = await s.get_one(UserGroup, body["id"])
        sources = (await s.execute(select(GroupMembership.source))).scalars().all()
        actors = (
            await s.execute(select(AuditEvent.actor_kind).where(AuditEvent.target_id == group.id))
        ).scalars()
    assert (group.account_id, group.managed_by_scim) == (acme.id, True)
    assert sources == ["scim"]
    assert set(actors) == {"scim"}


async def test_entra_membership_patches(uow, client, revocations) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        ann, bob, cy = [await make_user(s, world.operator, acme) for _ in range(3)]
        headers = await scim_headers(s, acme)
    group_id = (
        await client.post(f"{SCIM}/Groups", json=group_body("Fleet"), headers=headers)
    ).json()["id"]
    async with uow() as s:
        await link_scope(
            s, await make_charger(s, world.operator), await s.get_one(UserGroup, group_id)
        )
    url = f"{SCIM}/Groups/{group_id}"
    added = await client.patch(
        url,
        json=patch_body(
            {"op": "Add", "path": "members", "value": [{"value": ann.id}, {"value": bob.id}]}
        ),
        headers=headers,
    )
    assert added.status_code == 200, added.json()
    assert await _member_ids(uow, group_id) == {ann.id, bob.id}
    removed = await client.patch(
        url,
        json=patch_body({"op": "Remove", "path": "members", "value": [{"value": ann.id}]}),
        headers=headers,
    )
    assert removed.status_code == 200, removed.json()
    assert await _member_ids(uow, group_id) == {bob.id}
    assert revocations[-1].operator_id == world.operator.id
    filtered = await client.patch(
        url,
        json=patch_body({"op": "remove", "path": f'members[value eq "{bob.id}"]'}),
        headers=headers,
    )
    assert filtered.status_code == 200 and await _member_ids(uow, group_id) == set()
    renamed = await client.patch(
        url,
        json=patch_body(
            {
                "op": "Replace",
                "value": {"displayName": "Fleet drivers", "members": [{"value": cy.id}]},
            }
        ),
        headers=headers,
    )
    assert renamed.status_code == 200, renamed.json()
    assert renamed.json()["displayName"] == "Fleet drivers"
    assert await _member_ids(uow, group_id) == {cy.id}


async def test_okta_puts_the_whole_group_with_member_display_names(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        ann, bob = [await make_user(s, world.operator, acme) for _ in range(2)]
        headers = await scim_headers(s, acme)
    group_id = (
        await client.post(f"{SCIM}/Groups", json=group_body("Okta group", ann.id), headers=headers)
    ).json()["id"]
    put = await client.put(
        f"{SCIM}/Groups/{group_id}",
        json={
            "schemas": [GROUP_SCHEMA],
            "id": group_id,
            "displayName": "Okta group",
            "members": [{"value": bob.id, "display": "bob@acme.example"}],
        },
        headers=headers,
    )
    assert put.status_code == 200, put.json()
    assert await _member_ids(uow, group_id) == {bob.id}


async def test_a_member_of_another_account_cannot_join(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        other = await make_account(s, world.operator)
        outsider = await make_user(s, world.operator, other)
        headers = await scim_headers(s, acme)
    answer = await client.post(
        f"{SCIM}/Groups", json=group_body("Mixed", outsider.id), headers=headers
    )
    assert (answer.status_code, answer.json()["scimType"]) == (400, "invalidValue")
    async with uow() as s:
        assert (await s.execute(select(UserGroup))).first() is None


async def test_manual_membership_changes_of_a_managed_group_answer_409_its_settings_stay_editable(
    uow, client
) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        admin = await make_user(s, world.operator, acme, admin_of=(acme,))
        ann, bob = [await make_user(s, world.operator, acme) for _ in range(2)]
        headers = await scim_headers(s, acme)
        admin_headers = await bearer(s, admin)
        op_headers = await bearer(s, world.admin)
    group_id = (
        await client.post(f"{SCIM}/Groups", json=group_body("Managed", ann.id), headers=headers)
    ).json()["id"]
    for caller in (admin_headers, op_headers):
        answers = [
            await client.post(
                f"{API}/groups/{group_id}/members", json={"user_ids": [bob.id]}, headers=caller
            ),
            await client.post(
                f"{API}/groups/{group_id}/members/add-all-account-members", headers=caller
            ),
            await client.delete(f"{API}/groups/{group_id}/members/{ann.id}", headers=caller),
        ]
        assert [(a.status_code, a.json()["code"]) for a in answers] == [
            (409, "group_managed_by_scim")
        ] * 3
    owner = await client.patch(
        f"{API}/groups/{group_id}", json={"financial_owner_id": ann.id}, headers=op_headers
    )
    assert owner.status_code == 200
    assert await _member_ids(uow, group_id) == {ann.id}


async def test_scim_changes_only_the_groups_it_made_and_sees_only_its_accounts(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        other = await make_account(s, world.operator)
        manual = await make_group(s, world.operator, account=acme, name="Manual")
        theirs = await make_group(s, world.operator, account=other, name="Theirs")
        global_group = await make_group(s, world.operator, name="Everyone")
        headers = await scim_headers(s, acme)
    listed = await client.get(f"{SCIM}/Groups", headers=headers)
    assert [g["id"] for g in listed.json()["Resources"]] == [manual.id]
    renamed = await client.put(
        f"{SCIM}/Groups/{manual.id}", json=group_body("Renamed"), headers=headers
    )
    assert renamed.status_code == 403
    for group in (theirs, global_group):
        url = f"{SCIM}/Groups/{group.id}"
        answers = [
            await client.get(url, headers=headers),
            await client.put(url, json=group_body("Mine"), headers=headers),
            await client.patch(
                url,
                json=patch_body({"op": "replace", "path": "displayName", "value": "Mine"}),
                headers=headers,
            ),
            await client.delete(url, headers=headers),
        ]
        assert [a.status_code for a in answers] == [404] * 4
    async with uow() as s:
        assert (await s.get_one(UserGroup, theirs.id)).name == "Theirs"


async def test_deleting_a_pushed_group_removes_it(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        headers = await scim_headers(s, acme)
    group_id = (
        await client.post(f"{SCIM}/Groups", json=group_body("Gone"), headers=headers)
    ).json()["id"]
    gone = await client.delete(f"{SCIM}/Groups/{group_id}", headers=headers)
    assert gone.status_code == 204
    assert (await client.get(f"{SCIM}/Groups/{group_id}", headers=headers)).status_code == 404
    async with uow() as s:
        assert await s.get(UserGroup, group_id) is None
