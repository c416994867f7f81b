"""What a user sees of itself: account, grants, current groups and who pays for it."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.auth.schemas import GrantOut, GroupRefOut, MeOut, PaidByOut
from chargegroups.auth.subject import AuthSubject
from chargegroups.kit.clock import utcnow
from chargegroups.models import Account, Grant, GroupMembership, User, UserGroup


async def me(session: AsyncSession, subject: AuthSubject) -> MeOut:
    user = await session.get_one(User, subject.user_id)
    account = await session.get_one(Account, user.account_id)
    grants = (await session.execute(select(Grant).where(Grant.user_id == user.id))).scalars()
    now = utcnow()
    groups = list(
        (
            await session.execute(
                select(UserGroup)
                .join(GroupMembership, GroupMembership.group_id == UserGroup.id)
                .where(
                    GroupMembership.user_id == user.id,
                    or_(GroupMembership.valid_until.is_(None), GroupMembership.valid_until > now),
                )
                .order_by(UserGroup.id)
            )
        ).scalars()
    )
    return MeOut(
        id=user.id,
        email=user.email,
        name=user.name,
        operator_id=user.operator_id,
        account_id=account.id,
        account_name=account.name,
        email_verified=user.email_verified_at is not None,
        grants=[GrantOut(role=g.role, account_id=g.account_id) for g in grants],
        groups=[GroupRefOut(id=g.id, name=g.name) for g in groups],
        paid_by=[
            PaidByOut(
                group_id=g.id,
                group_name=g.name,
                financial_owner_id=g.financial_owner_id,
                pays_at=g.pays_at,
            )
            for g in groups
            if g.financial_owner_id is not None
        ],
    )
