"""A10 over SCIM Users: the token's account's members, made, changed, deactivated and
removed by its identity provider through the same services as every other edge."""

from __future__ import annotations

from sqlalchemy import select

from chargegroups.charger.revocation import Revocation
from chargegroups.models import AuditEvent, GroupMembership, User
from tests.fixtures.factories import (
    bearer,
    make_account,
    make_group,
    make_operator,
    make_user,
)
from tests.scim.helpers import ERROR_SCHEMA, SCIM, patch_body, scim_headers, user_body


async def test_a_new_user_becomes_a_member_and_joins_auto_assign_groups_as_scim(
    uow, client
) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator, name="Acme")
        everyone = await make_group(s, world.operator, account=acme, auto_assign=True)
        headers = await scim_headers(s, acme)
    made = await client.post(
        f"{SCIM}/Users",
        json=user_body(
            "ada@acme.example",
            externalId="entra-1",
            name={"givenName": "Ada", "familyName": "Lovelace"},
        ),
        headers=headers,
    )
    body = made.json()
    assert made.status_code == 201, body
    assert made.headers["content-type"].startswith("application/scim+json")
    assert made.headers["location"] == f"http://testserver{SCIM}/Users/{body['id']}"
    assert (body["userName"], body["externalId"], body["displayName"], body["active"]) == (
        "ada@acme.example",
        "entra-1",
        "Ada Lovelace",
        True,
    )
    assert [g["value"] for g in body["groups"]] == [everyone.id]
    async with uow() as s:
        user = await s.get_one(User, body["id"])
        membership = (await s.execute(select(GroupMembership))).scalar_one()
        actors = (await s.execute(select(AuditEvent.actor_kind, AuditEvent.action))).all()
    assert (user.account_id, user.external_id) == (acme.id, "entra-1")
    assert membership.source == "scim"
    assert ("scim", "user.created") in actors and ("scim", "membership.added") in actors


async def test_a_user_waiting_in_the_default_account_is_adopted(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        waiting = await make_user(s, world.operator, world.default_account, email="bo@acme.example")
        headers = await scim_headers(s, acme)
    made = await client.post(
        f"{SCIM}/Users", json=user_body("BO@acme.example", externalId="x9"), headers=headers
    )
    assert made.status_code == 201 and made.json()["id"] == waiting.id
    async with uow() as s:
        adopted = await s.get_one(User, waiting.id)
    assert (adopted.account_id, adopted.external_id) == (acme.id, "x9")


async def test_a_user_of_another_account_or_already_here_is_a_uniqueness_conflict(
    uow, client
) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        other = await make_account(s, world.operator)
        await make_user(s, world.operator, other, email="cy@acme.example")
        await make_user(s, world.operator, acme, email="di@acme.example")
        headers = await scim_headers(s, acme)
    for address in ("cy@acme.example", "di@acme.example"):
        answer = await client.post(f"{SCIM}/Users", json=user_body(address), headers=headers)
        body = answer.json()
        assert answer.status_code == 409
        assert (body["schemas"], body["scimType"], body["status"]) == (
            [ERROR_SCHEMA],
            "uniqueness",
            "409",
        )


async def test_deactivation_blocks_the_user_and_its_tokens_at_once_and_reactivation_restores(
    uow, client, revocations
) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        user = await make_user(s, world.operator, acme)
        user_headers = await bearer(s, user)
        headers = await scim_headers(s, acme)
    off = await client.patch(
        f"{SCIM}/Users/{user.id}",
        json=patch_body({"op": "Replace", "path": "active", "value": False}),
        headers=headers,
    )
    assert off.status_code == 200 and off.json()["active"] is False
    assert revocations == [Revocation(world.operator.id, None)]
    assert (await client.get("/api/v1/me", headers=user_headers)).status_code == 401
    on = await client.patch(
        f"{SCIM}/Users/{user.id}",
        json=patch_body({"op": "replace", "value": {"active": True}}),
        headers=headers,
    )
    assert on.status_code == 200 and on.json()["active"] is True
    async with uow() as s:
        assert (await s.get_one(User, user.id)).blocked is False
        actors = (
            await s.execute(
                select(AuditEvent.actor_kind).where(AuditEvent.action == "user.updated")
            )
        ).scalars()
    assert list(actors) == ["scim", "scim"]


async def test_put_renames_and_a_changed_user_name_is_refused(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        user = await make_user(s, world.operator, acme, email="ed@acme.example")
        headers = await scim_headers(s, acme)
    renamed = await client.put(
        f"{SCIM}/Users/{user.id}",
        json=user_body("ed@acme.example", displayName="Edward", active=True),
        headers=headers,
    )
    moved = await client.put(
        f"{SCIM}/Users/{user.id}", json=user_body("new@acme.example"), headers=headers
    )
    assert renamed.status_code == 200 and renamed.json()["displayName"] == "Edward"
    assert (moved.status_code, moved.json()["scimType"]) == (400, "mutability")


async def test_delete_moves_the_member_to_the_default_account(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        user = await make_user(s, world.operator, acme)
        headers = await scim_headers(s, acme)
    gone = await client.delete(f"{SCIM}/Users/{user.id}", headers=headers)
    after = await client.get(f"{SCIM}/Users/{user.id}", headers=headers)
    assert gone.status_code == 204
    assert after.status_code == 404 and after.json()["schemas"] == [ERROR_SCHEMA]
    async with uow() as s:
        assert (await s.get_one(User, user.id)).account_id == world.default_account.id


async def test_a_token_of_one_account_never_reads_or_changes_another_accounts_users(
    uow, client
) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        other = await make_account(s, world.operator)
        theirs = await make_user(s, world.operator, other, email="fay@other.example")
        elsewhere = await make_operator(s)
        foreign = await make_user(s, elsewhere.operator, elsewhere.default_account)
        headers = await scim_headers(s, acme)
    for target in (theirs, foreign):
        url = f"{SCIM}/Users/{target.id}"
        answers = [
            await client.get(url, headers=headers),
            await client.put(url, json=user_body(target.email), headers=headers),
            await client.patch(
                url,
                json=patch_body({"op": "replace", "path": "active", "value": False}),
                headers=headers,
            ),
            await client.delete(url, headers=headers),
        ]
        assert [a.status_code for a in answers] == [404, 404, 404, 404]
    listed = await client.get(f"{SCIM}/Users", headers=headers)
    found = await client.get(
        f"{SCIM}/Users", params={"filter": 'userName eq "fay@other.example"'}, headers=headers
    )
    assert listed.json()["totalResults"] == 0 and found.json()["totalResults"] == 0
    async with uow() as s:
        assert (await s.get_one(User, theirs.id)).blocked is False
        assert (await s.get_one(User, theirs.id)).account_id == other.id


async def test_etags_answer_not_modified_and_refuse_a_stale_change(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        user = await make_user(s, world.operator, acme)
        headers = await scim_headers(s, acme)
    url = f"{SCIM}/Users/{user.id}"
    first = await client.get(url, headers=headers)
    etag = first.headers["etag"]
    assert first.json()["meta"]["version"] == etag
    same = await client.get(url, headers={**headers, "If-None-Match": etag})
    changed = await client.patch(
        url,
        json=patch_body({"op": "replace", "path": "displayName", "value": "New"}),
        headers={**headers, "If-Match": etag},
    )
    stale = await client.patch(
        url,
        json=patch_body({"op": "replace", "path": "displayName", "value": "Newer"}),
        headers={**headers, "If-Match": etag},
    )
    assert same.status_code == 304
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert stale.status_code == 412 and stale.json()["schemas"] == [ERROR_SCHEMA]


async def test_bad_requests_are_scim_errors_never_500(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        user = await make_user(s, world.operator, acme)
        headers = await scim_headers(s, acme)
    answers = {
        "bad json": await client.post(f"{SCIM}/Users", content=b"{nope", headers=headers),
        "not an object": await client.post(f"{SCIM}/Users", content=b"[1]", headers=headers),
        "unknown attribute": await client.post(
            f"{SCIM}/Users", json=user_body("g@acme.example", shoeSize=44), headers=headers
        ),
        "bad filter": await client.get(
            f"{SCIM}/Users", params={"filter": 'userName eq "x'}, headers=headers
        ),
        "unknown filter attribute": await client.get(
            f"{SCIM}/Users", params={"filter": 'shoeSize eq "x"'}, headers=headers
        ),
        "bad patch path": await client.patch(
            f"{SCIM}/Users/{user.id}",
            json=patch_body({"op": "replace", "path": "shoe[[", "value": 1}),
            headers=headers,
        ),
        "bad patch op": await client.patch(
            f"{SCIM}/Users/{user.id}",
            json=patch_body({"op": "explode", "path": "active", "value": False}),
            headers=headers,
        ),
        "no credentials": await client.get(f"{SCIM}/Users"),
        "no such endpoint": await client.get(f"{SCIM}/Pets", headers=headers),
    }
    statuses = {name: a.status_code for name, a in answers.items()}
    assert statuses == {
        "bad json": 400,
        "not an object": 400,
        "unknown attribute": 400,
        "bad filter": 400,
        "unknown filter attribute": 400,
        "bad patch path": 400,
        "bad patch op": 400,
        "no credentials": 401,
        "no such endpoint": 404,
    }
    for answer in answers.values():
        assert answer.json()["schemas"] == [ERROR_SCHEMA]
    assert answers["bad json"].json()["scimType"] == "invalidSyntax"
    assert answers["bad filter"].json()["scimType"] == "invalidFilter"


async def test_a_ten_megabyte_body_is_a_scim_413(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        headers = await scim_headers(s, acme)
    huge = b'{"userName": "' + b"a" * (10 * 1024 * 1024) + b'"}'
    answer = await client.post(f"{SCIM}/Users", content=huge, headers=headers)
    assert answer.status_code == 413
    assert answer.json()["schemas"] == [ERROR_SCHEMA]
    assert answer.headers["content-type"].startswith("application/scim+json")


async def test_an_entra_patch_of_the_name_parts_renames_the_member(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        user = await make_user(s, world.operator, acme, name="Old Name")
        headers = await scim_headers(s, acme)
    renamed = await client.patch(
        f"{SCIM}/Users/{user.id}",
        json=patch_body(
            {"op": "Replace", "path": "name.givenName", "value": "Grace"},
            {"op": "Replace", "path": "name.familyName", "value": "Hopper"},
        ),
        headers=headers,
    )
    assert renamed.status_code == 200, renamed.json()
    assert renamed.json()["displayName"] == "Grace Hopper"
