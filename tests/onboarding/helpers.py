"""Shared pieces of the onboarding tests: groups, outbox reading, state snapshots."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.models import (
    Account,
    GroupMembership,
    Invitation,
    JoinLink,
    OutboxEmail,
    User,
    UserGroup,
)

SIGNUP_PASSWORD = "a long enough password"


async def make_group(
    session: AsyncSession,
    account: Account | None,
    *,
    operator_id: str,
    name: str,
    auto_assign: bool = False,
    financial_owner: User | None = None,
) -> UserGroup:
    group = UserGroup(
        operator_id=operator_id,
        name=name,
        name_normalized=name.lower(),
        scope_kind="account" if account else "all_accounts",
        account_id=account.id if account else None,
        scope_key=account.id if account else "*",
        auto_assign=auto_assign,
        financial_owner_id=financial_owner.id if financial_owner else None,
    )
    session.add(group)
    await session.flush()
    return group


async def memberships_of(session: AsyncSession, user_id: str) -> list[tuple[str, str]]:
    rows = await session.execute(
        select(GroupMembership.group_id, GroupMembership.source)
        .where(GroupMembership.user_id == user_id)
        .order_by(GroupMembership.group_id)
    )
    return [(g, s) for g, s in rows]


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    stmt = select(User).where(User.email_normalized == email.lower())
    return (await session.execute(stmt)).scalar_one_or_none()


async def emails_to(session: AsyncSession, to: str) -> list[OutboxEmail]:
    stmt = select(OutboxEmail).where(OutboxEmail.to == to).order_by(OutboxEmail.id)
    return list((await session.execute(stmt)).scalars())


async def link_token(session: AsyncSession, to: str, path: str) -> str:
    """The token of the last ``{public_url}/{path}/{token}`` link mailed to ``to``."""
    for email in reversed(await emails_to(session, to)):
        match = re.search(rf"http://testserver/{path}/(\S+)", email.body_text)
        if match:
            return match.group(1)
    raise AssertionError(f"no /{path}/ link was mailed to {to}")


async def snapshot(session: AsyncSession) -> dict[str, object]:
    """What a refused call must leave untouched."""
    counts = {}
    for model in (User, GroupMembership, Invitation):
        counts[model.__tablename__] = (
            await session.execute(select(func.count()).select_from(model))
        ).scalar_one()
    counts["join_link_uses"] = (
        await session.execute(select(func.coalesce(func.sum(JoinLink.uses), 0)))
    ).scalar_one()
    counts["accepted"] = (
        await session.execute(
            select(func.count()).select_from(Invitation).where(Invitation.accepted_at.is_not(None))
        )
    ).scalar_one()
    return counts
