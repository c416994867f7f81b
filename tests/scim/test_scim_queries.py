"""SCIM lists: filters translated to SQL, startIndex/count with totalResults, attributes and
excludedAttributes, and POST /.search."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chargegroups.models import User
from tests.fixtures.factories import make_account, make_group, make_operator, make_user
from tests.scim.helpers import SCIM, scim_headers

SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


@pytest.fixture
async def acme(uow):
    """Acme with three members (Ann Archer, Bob Baker blocked, Cy Carter) and a group."""
    async with uow() as s:
        world = await make_operator(s)
        account = await make_account(s, world.operator)
        people = [
            await make_user(
                s, world.operator, account, email="ann@acme.example", name="Ann Archer"
            ),
            await make_user(
                s, world.operator, account, email="bob@acme.example", name="Bob Baker", blocked=True
            ),
            await make_user(s, world.operator, account, email="cy@corp.example", name="Cy Carter"),
        ]
        people[0].external_id = "ext-ann"
        await make_group(s, world.operator, account=account, name="Night shift")
        await make_user(s, world.operator, world.default_account, email="ann@else.example")
        headers = await scim_headers(s, account)
    return people, headers


async def _names(client, headers, scim_filter: str) -> list[str]:
    answer = await client.get(f"{SCIM}/Users", params={"filter": scim_filter}, headers=headers)
    assert answer.status_code == 200, answer.json()
    return sorted(r["displayName"] for r in answer.json()["Resources"])


@pytest.mark.parametrize(
    ("scim_filter", "expected"),
    [
        ('userName eq "ANN@acme.example"', ["Ann Archer"]),
        ('userName ne "ann@acme.example"', ["Bob Baker", "Cy Carter"]),
        ('displayName co "ar"', ["Ann Archer", "Cy Carter"]),
        ('userName sw "b"', ["Bob Baker"]),
        ('userName ew "corp.example"', ["Cy Carter"]),
        ("externalId pr", ["Ann Archer"]),
        ('externalId eq "ext-ann"', ["Ann Archer"]),
        ("active eq false", ["Bob Baker"]),
        ('active eq true and userName ew "acme.example"', ["Ann Archer"]),
        ('userName sw "ann" or userName sw "cy"', ["Ann Archer", "Cy Carter"]),
        ('not (userName sw "ann")', ["Bob Baker", "Cy Carter"]),
        ('emails[type eq "work" and value co "corp"]', ["Cy Carter"]),
        ('emails[type eq "home"]', []),
        ('emails.value eq "bob@acme.example"', ["Bob Baker"]),
        ('title eq "Boss"', []),
        ('meta.lastModified gt "2000-01-01T00:00:00Z"', ["Ann Archer", "Bob Baker", "Cy Carter"]),
        ('meta.lastModified lt "2000-01-01T00:00:00Z"', []),
    ],
)
async def test_user_filters(client, acme, scim_filter: str, expected: list[str]) -> None:
    _, headers = acme
    assert await _names(client, headers, scim_filter) == expected


async def test_last_modified_follows_a_change(uow, client, acme) -> None:
    people, headers = acme
    since = datetime.now(UTC) - timedelta(seconds=1)
    async with uow() as s:
        (await s.get_one(User, people[2].id)).name = "Cy Changed"
    changed = f'meta.lastModified gt "{since.isoformat()}"'
    assert "Cy Changed" in await _names(client, headers, changed)


async def test_pages_carry_the_total_and_their_start(client, acme) -> None:
    _, headers = acme
    pages = [
        (
            await client.get(
                f"{SCIM}/Users", params={"startIndex": start, "count": 2}, headers=headers
            )
        ).json()
        for start in (1, 3)
    ]
    counted = await client.get(f"{SCIM}/Users", params={"count": 0}, headers=headers)
    assert [(p["totalResults"], p["startIndex"], p["itemsPerPage"]) for p in pages] == [
        (3, 1, 2),
        (3, 3, 1),
    ]
    ids = [r["id"] for p in pages for r in p["Resources"]]
    assert len(set(ids)) == 3
    assert counted.json()["totalResults"] == 3 and not counted.json().get("Resources")


async def test_attributes_and_excluded_attributes_select_what_is_returned(client, acme) -> None:
    people, headers = acme
    only = await client.get(
        f"{SCIM}/Users/{people[0].id}", params={"attributes": "userName"}, headers=headers
    )
    without = await client.get(
        f"{SCIM}/Users", params={"excludedAttributes": "emails,name"}, headers=headers
    )
    assert set(only.json()) == {"schemas", "id", "userName"}
    for resource in without.json()["Resources"]:
        assert "emails" not in resource and "name" not in resource and "userName" in resource


async def test_post_search_filters_users_and_groups(client, acme) -> None:
    _, headers = acme
    users = await client.post(
        f"{SCIM}/Users/.search",
        json={"schemas": [SEARCH], "filter": 'userName sw "ann"', "attributes": ["userName"]},
        headers=headers,
    )
    groups = await client.post(
        f"{SCIM}/Groups/.search",
        json={"schemas": [SEARCH], "filter": 'displayName eq "night shift"'},
        headers=headers,
    )
    assert users.status_code == 200, users.json()
    assert [r["userName"] for r in users.json()["Resources"]] == ["ann@acme.example"]
    assert [r["displayName"] for r in groups.json()["Resources"]] == ["Night shift"]


async def test_post_search_at_the_root_pages_users_then_groups(client, acme) -> None:
    _, headers = acme
    every = await client.post(
        f"{SCIM}/.search", json={"schemas": [SEARCH], "count": 3}, headers=headers
    )
    rest = await client.post(
        f"{SCIM}/.search", json={"schemas": [SEARCH], "startIndex": 4}, headers=headers
    )
    named = await client.post(
        f"{SCIM}/.search",
        json={"schemas": [SEARCH], "filter": 'displayName sw "night" or userName sw "cy"'},
        headers=headers,
    )
    assert every.status_code == 200, every.json()
    assert every.json()["totalResults"] == 4
    assert [r["schemas"][0].rsplit(":", 1)[1] for r in every.json()["Resources"]] == ["User"] * 3
    assert [r["displayName"] for r in rest.json()["Resources"]] == ["Night shift"]
    assert sorted(r["displayName"] for r in named.json()["Resources"]) == [
        "Cy Carter",
        "Night shift",
    ]
