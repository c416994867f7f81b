"""Every query about groups and memberships; the caller's reach lives in ``visible_to``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.auth.subject import AuthSubject
from chargegroups.models import Charger, ChargerScope, GroupMembership, User, UserGroup
from chargegroups.models.group import SCOPE_ALL_ACCOUNTS

T = TypeVar("T")

# Bound on the ids in one IN (...): SQLite's variable limit and PostgreSQL plan sizes.
CHUNK = 1000


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def current(now: datetime) -> ColumnElement[bool]:
    """A membership that still counts (G12, D5)."""
    return or_(GroupMembership.valid_until.is_(None), GroupMembership.valid_until > now)


def visible_to(subject: AuthSubject) -> ColumnElement[bool]:
    """The groups ``subject`` may see (R3, G7): the one place that decides a group's reach.

    Operator admins: every group of the operator. Account admins: their accounts' groups and
    the global groups that touch their accounts (a member there, or in scope of a charger one
    of their accounts owns). Everyone: the groups they are a member of.
    """
    in_operator = UserGroup.operator_id == subject.operator_id
    if subject.is_operator_admin:
        return in_operator
    own = UserGroup.id.in_(
        select(GroupMembership.group_id).where(GroupMembership.user_id == subject.user_id)
    )
    admin_ids = subject.admin_account_ids
    if not admin_ids:
        return and_(in_operator, own)
    touches = and_(
        UserGroup.scope_kind == SCOPE_ALL_ACCOUNTS,
        or_(
            exists(
                select(GroupMembership.id)
                .join(User, User.id == GroupMembership.user_id)
                .where(GroupMembership.group_id == UserGroup.id, User.account_id.in_(admin_ids))
            ),
            exists(
                select(ChargerScope.charger_id)
                .join(Charger, Charger.id == ChargerScope.charger_id)
                .where(ChargerScope.group_id == UserGroup.id, Charger.account_id.in_(admin_ids))
            ),
        ),
    )
    return and_(in_operator, or_(UserGroup.account_id.in_(admin_ids), touches, own))


def groups_stmt(
    subject: AuthSubject, *, scope_kind: str | None = None, account_id: str | None = None
) -> Select[Any]:
    stmt = select(UserGroup).where(visible_to(subject))
    if scope_kind is not None:
        stmt = stmt.where(UserGroup.scope_kind == scope_kind)
    if account_id is not None:
        stmt = stmt.where(UserGroup.account_id == account_id)
    return stmt


async def find_visible(
    session: AsyncSession, subject: AuthSubject, group_id: str, *, lock: bool = False
) -> UserGroup | None:
    stmt = select(UserGroup).where(UserGroup.id == group_id, visible_to(subject))
    if lock:
        # A membership written under this lock cannot race the group's deletion.
        stmt = stmt.with_for_update(read=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def name_taken(
    session: AsyncSession, operator_id: str, scope_key: str, name_normalized: str, *, but: str = ""
) -> bool:
    stmt = select(UserGroup.id).where(
        UserGroup.operator_id == operator_id,
        UserGroup.scope_key == scope_key,
        UserGroup.name_normalized == name_normalized,
        UserGroup.id != but,
    )
    return (await session.execute(stmt)).first() is not None


async def member_counts(
    session: AsyncSession, group_ids: Sequence[str], now: datetime
) -> dict[str, int]:
    if not group_ids:
        return {}
    stmt = (
        select(GroupMembership.group_id, func.count())
        .where(GroupMembership.group_id.in_(group_ids), current(now))
        .group_by(GroupMembership.group_id)
    )
    return {group_id: count for group_id, count in (await session.execute(stmt)).all()}


async def eligible_user_ids(
    session: AsyncSession, group: UserGroup, user_ids: Sequence[str]
) -> set[str]:
    """Of ``user_ids``, those that may be members of ``group`` (G5)."""
    found: set[str] = set()
    for part in chunks(user_ids):
        stmt = select(User.id).where(User.id.in_(part), User.operator_id == group.operator_id)
        if group.account_id is not None:
            stmt = stmt.where(User.account_id == group.account_id)
        found.update((await session.execute(stmt)).scalars())
    return found


async def existing_member_ids(
    session: AsyncSession, group_id: str, user_ids: Sequence[str]
) -> set[str]:
    found: set[str] = set()
    for part in chunks(user_ids):
        stmt = select(GroupMembership.user_id).where(
            GroupMembership.group_id == group_id, GroupMembership.user_id.in_(part)
        )
        found.update((await session.execute(stmt)).scalars())
    return found


async def account_user_ids_not_in(session: AsyncSession, group: UserGroup) -> list[str]:
    stmt = (
        select(User.id)
        .where(
            User.account_id == group.account_id,
            ~exists(
                select(GroupMembership.id).where(
                    GroupMembership.group_id == group.id, GroupMembership.user_id == User.id
                )
            ),
        )
        .order_by(User.id)
    )
    return list((await session.execute(stmt)).scalars())


async def scope_charger_ids(session: AsyncSession, group_id: str) -> list[str]:
    stmt = select(ChargerScope.charger_id).where(ChargerScope.group_id == group_id)
    return list((await session.execute(stmt)).scalars())


async def find_membership(
    session: AsyncSession, group_id: str, user_id: str
) -> GroupMembership | None:
    stmt = select(GroupMembership).where(
        GroupMembership.group_id == group_id, GroupMembership.user_id == user_id
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def memberships_of(session: AsyncSession, group_id: str) -> list[GroupMembership]:
    stmt = select(GroupMembership).where(GroupMembership.group_id == group_id)
    return list((await session.execute(stmt)).scalars())


async def users_by_id(session: AsyncSession, user_ids: Sequence[str]) -> dict[str, User]:
    found: dict[str, User] = {}
    for part in chunks(user_ids):
        for user in (await session.execute(select(User).where(User.id.in_(part)))).scalars():
            found[user.id] = user
    return found


async def current_groups_of(
    session: AsyncSession, user_ids: Sequence[str], now: datetime
) -> dict[str, list[UserGroup]]:
    """Each user's current groups (oldest first)."""
    by_user: dict[str, list[UserGroup]] = {user_id: [] for user_id in user_ids}
    if not user_ids:
        return by_user
    stmt = (
        select(GroupMembership.user_id, UserGroup)
        .join(UserGroup, UserGroup.id == GroupMembership.group_id)
        .where(GroupMembership.user_id.in_(user_ids), current(now))
        .order_by(UserGroup.id)
    )
    for user_id, group in (await session.execute(stmt)).all():
        by_user[user_id].append(group)
    return by_user


async def financial_groups_of(
    session: AsyncSession, user_ids: Sequence[str]
) -> dict[str, list[UserGroup]]:
    by_user: dict[str, list[UserGroup]] = {user_id: [] for user_id in user_ids}
    if not user_ids:
        return by_user
    stmt = (
        select(UserGroup).where(UserGroup.financial_owner_id.in_(user_ids)).order_by(UserGroup.id)
    )
    for group in (await session.execute(stmt)).scalars():
        if group.financial_owner_id is not None:
            by_user[group.financial_owner_id].append(group)
    return by_user
