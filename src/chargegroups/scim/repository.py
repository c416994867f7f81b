"""Every query of SCIM provisioning: its tokens, and the token's account's users and groups."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.models import GroupMembership, ScimToken, User, UserGroup
from chargegroups.models.group import SCOPE_ACCOUNT


async def live_token(session: AsyncSession, token_hash: str) -> ScimToken | None:
    stmt = select(ScimToken).where(
        ScimToken.token_hash == token_hash, ScimToken.revoked_at.is_(None)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


#: How stale a token's last use may be: a provisioning run of thousands of requests writes it
#: once a minute, not once a request.
LAST_USED_PRECISION = timedelta(minutes=1)


async def mark_used(session: AsyncSession, token_id: str, now: datetime) -> None:
    stale = or_(
        ScimToken.last_used_at.is_(None), ScimToken.last_used_at < now - LAST_USED_PRECISION
    )
    await session.execute(
        update(ScimToken).where(ScimToken.id == token_id, stale).values(last_used_at=now)
    )


async def live_tokens_of(
    session: AsyncSession, account_id: str
) -> list[tuple[ScimToken, str | None]]:
    """The account's unrevoked tokens with the name of the admin who made each."""
    stmt = (
        select(ScimToken, User.name)
        .outerjoin(User, User.id == ScimToken.created_by_id)
        .where(ScimToken.account_id == account_id, ScimToken.revoked_at.is_(None))
        .order_by(ScimToken.id)
    )
    return [(token, name) for token, name in (await session.execute(stmt)).all()]


async def token_of(session: AsyncSession, account_id: str, token_id: str) -> ScimToken | None:
    stmt = select(ScimToken).where(ScimToken.id == token_id, ScimToken.account_id == account_id)
    return (await session.execute(stmt)).scalar_one_or_none()


# --- the token's account's users and groups -------------------------------------------------


def users_stmt(account_id: str, condition: ColumnElement[bool] | None) -> Select[Any]:
    stmt = select(User).where(User.account_id == account_id)
    return stmt if condition is None else stmt.where(condition)


def groups_stmt(account_id: str, condition: ColumnElement[bool] | None) -> Select[Any]:
    """The account's account-level groups: global groups are never the IdP's to see."""
    stmt = select(UserGroup).where(
        UserGroup.account_id == account_id, UserGroup.scope_kind == SCOPE_ACCOUNT
    )
    return stmt if condition is None else stmt.where(condition)


async def page(
    session: AsyncSession, stmt: Select[Any], order_by: Any, *, offset: int, count: int
) -> tuple[int, list[Any]]:
    """SCIM pages by ``startIndex``/``count`` (RFC 7644 §3.4.2.4): the total and one page."""
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    if count == 0:
        return total, []
    rows = await session.execute(stmt.order_by(order_by).offset(offset).limit(count))
    return total, list(rows.scalars())


async def account_user(session: AsyncSession, account_id: str, user_id: str) -> User | None:
    stmt = select(User).where(User.id == user_id, User.account_id == account_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def account_group(session: AsyncSession, account_id: str, group_id: str) -> UserGroup | None:
    stmt = groups_stmt(account_id, UserGroup.id == group_id)
    group: UserGroup | None = (await session.execute(stmt)).scalar_one_or_none()
    return group


async def account_users_by_id(
    session: AsyncSession, account_id: str, user_ids: Sequence[str]
) -> dict[str, User]:
    if not user_ids:
        return {}
    stmt = select(User).where(User.account_id == account_id, User.id.in_(list(user_ids)))
    return {u.id: u for u in (await session.execute(stmt)).scalars()}


async def members_of(session: AsyncSession, group_ids: Sequence[str]) -> dict[str, list[str]]:
    """Each group's member ids, for a page of groups in one query."""
    found: dict[str, list[str]] = {group_id: [] for group_id in group_ids}
    if not group_ids:
        return found
    stmt = (
        select(GroupMembership.group_id, GroupMembership.user_id)
        .where(GroupMembership.group_id.in_(list(group_ids)))
        .order_by(GroupMembership.group_id, GroupMembership.user_id)
    )
    for group_id, user_id in await session.execute(stmt):
        found[group_id].append(user_id)
    return found


async def groups_of_users(
    session: AsyncSession, account_id: str, user_ids: Sequence[str]
) -> dict[str, list[tuple[str, str]]]:
    """Each user's groups of the account as (group id, name), in one query."""
    found: dict[str, list[tuple[str, str]]] = {user_id: [] for user_id in user_ids}
    if not user_ids:
        return found
    stmt = (
        select(GroupMembership.user_id, UserGroup.id, UserGroup.name)
        .join(UserGroup, UserGroup.id == GroupMembership.group_id)
        .where(GroupMembership.user_id.in_(list(user_ids)), UserGroup.account_id == account_id)
        .order_by(GroupMembership.user_id, UserGroup.id)
    )
    for user_id, group_id, name in await session.execute(stmt):
        found[user_id].append((group_id, name))
    return found
