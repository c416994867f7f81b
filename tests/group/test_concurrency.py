"""Parallel conflicting writes on PostgreSQL end in one clean winner, never a 500 or an orphan.

The interleavings are forced, not hoped for: the second transaction is started, then we wait
(on PostgreSQL's own lock table, not on a clock) until it is blocked behind the first.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chargegroups.auth.service import subject_for
from chargegroups.errors import Conflict, NotFound
from chargegroups.group import service
from chargegroups.models import GroupMembership, UserGroup
from tests.fixtures.factories import bearer, make_account, make_group, make_operator, make_user

pytestmark = pytest.mark.postgres_only
API = "/api/v1"


async def wait_until_blocked(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Returns once some other backend of this database waits for a lock."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    async with sessionmaker() as probe:
        for _ in range(10_000):
            if await probe.scalar(query):
                return
            await probe.rollback()
            await asyncio.sleep(
                0.005
            )  # yields to the blocked task; correctness does not depend on it
    raise AssertionError("the second transaction never blocked")


async def count(sessionmaker: async_sessionmaker[AsyncSession], model: Any) -> int:
    async with sessionmaker() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def test_two_admins_creating_the_same_name_at_once_get_one_201_and_one_409(
    uow, client
) -> None:
    async with uow() as s:
        world = await make_operator(s)
        first = await bearer(s, world.admin)
        second_admin = await make_user(
            s, world.operator, world.default_account, operator_admin=True
        )
        second = await bearer(s, second_admin)
    body = {"name": "Night shift", "scope": {"kind": "all_accounts"}}
    answers = await asyncio.gather(
        client.post(f"{API}/groups", json=body, headers=first),
        client.post(f"{API}/groups", json=body, headers=second),
    )
    assert sorted(r.status_code for r in answers) == [201, 409]
    assert [r.json()["code"] for r in answers if r.status_code == 409] == ["name_taken"]


async def test_the_loser_of_a_name_race_past_the_check_gets_name_taken_not_a_duplicate(
    uow, sessionmaker
) -> None:
    async with uow() as s:
        world = await make_operator(s)
        subject = await subject_for(s, world.admin)
    async with sessionmaker() as s1, sessionmaker() as s2:
        await service.create_group(s1, subject, name="Vans", account_id=None)
        loser = asyncio.create_task(service.create_group(s2, subject, name="VANS", account_id=None))
        await wait_until_blocked(sessionmaker)
        await s1.commit()
        with pytest.raises(Conflict) as raised:
            await loser
        assert raised.value.code == "name_taken"
        await s2.rollback()
    assert await count(sessionmaker, UserGroup) == 1


async def test_adding_members_to_a_group_being_deleted_is_a_clean_404(uow, sessionmaker) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        user = await make_user(s, world.operator, acme)
        group = await make_group(s, world.operator, account=acme)
        subject = await subject_for(s, world.admin)
    async with sessionmaker() as s1, sessionmaker() as s2:
        await service.delete_group(s1, subject, group.id)
        adding = asyncio.create_task(service.add_members(s2, subject, group.id, [user.id]))
        await wait_until_blocked(sessionmaker)
        await s1.commit()
        with pytest.raises(NotFound):
            await adding
        await s2.rollback()
    assert await count(sessionmaker, GroupMembership) == 0
    assert await count(sessionmaker, UserGroup) == 0


async def test_deleting_a_group_while_members_are_added_removes_them_too(uow, sessionmaker) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        user = await make_user(s, world.operator, acme)
        group = await make_group(s, world.operator, account=acme)
        subject = await subject_for(s, world.admin)
    async with sessionmaker() as s1, sessionmaker() as s2:
        await service.add_members(s1, subject, group.id, [user.id])
        deleting = asyncio.create_task(service.delete_group(s2, subject, group.id))
        await wait_until_blocked(sessionmaker)
        await s1.commit()
        await deleting
        await s2.commit()
    assert await count(sessionmaker, GroupMembership) == 0
    assert await count(sessionmaker, UserGroup) == 0


async def test_parallel_add_and_delete_over_http_never_answer_500_nor_leave_orphans(
    uow, client, sessionmaker
) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        users = [await make_user(s, world.operator, acme) for _ in range(20)]
        group = await make_group(s, world.operator, account=acme)
        headers = await bearer(s, world.admin)
    url = f"{API}/groups/{group.id}"
    answers = await asyncio.gather(
        client.post(f"{url}/members", json={"user_ids": [u.id for u in users]}, headers=headers),
        client.delete(url, headers=headers),
    )
    added, deleted = answers
    assert added.status_code in (200, 404, 409)
    assert deleted.status_code == 204
    assert await count(sessionmaker, GroupMembership) == 0
