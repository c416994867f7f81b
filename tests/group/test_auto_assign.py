from __future__ import annotations

from sqlalchemy import select

from chargegroups.auth.subject import SYSTEM
from chargegroups.group.service import auto_assign
from chargegroups.models import GroupMembership, UserGroup
from tests.fixtures.factories import make_account, make_operator, make_user


def group_of(operator_id: str, account_id: str | None, name: str, auto: bool) -> UserGroup:
    return UserGroup(
        operator_id=operator_id,
        name=name,
        name_normalized=name.lower(),
        scope_kind="account" if account_id else "all_accounts",
        account_id=account_id,
        scope_key=account_id or "*",
        auto_assign=auto,
    )


async def test_auto_assign_adds_only_the_accounts_auto_assign_groups_once(uow) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        other = await make_account(s, world.operator)
        on = group_of(world.operator.id, acme.id, "Vans", True)
        off = group_of(world.operator.id, acme.id, "Office", False)
        foreign = group_of(world.operator.id, other.id, "Other vans", True)
        glob = group_of(world.operator.id, None, "Staff", False)
        s.add_all([on, off, foreign, glob])
        await s.flush()
        user = await make_user(s, world.operator, acme)
        joined = await auto_assign(s, user, source="invitation", actor=SYSTEM)
        again = await auto_assign(s, user, source="invitation", actor=SYSTEM)
    assert [g.id for g in joined] == [on.id]
    assert again == []
    async with uow() as s:
        rows = list((await s.execute(select(GroupMembership))).scalars())
    assert [(m.group_id, m.user_id, m.source) for m in rows] == [(on.id, user.id, "invitation")]
