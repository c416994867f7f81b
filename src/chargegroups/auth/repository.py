from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.models import AccessToken, Grant, Operator, User
from chargegroups.models.grant import ACCOUNT_ADMIN, OPERATOR_ADMIN


async def find_user_for_login(
    session: AsyncSession, operator_slug: str, email_normalized: str
) -> User | None:
    stmt = (
        select(User)
        .join(Operator, Operator.id == User.operator_id)
        .where(Operator.slug == operator_slug, User.email_normalized == email_normalized)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def find_live_token(
    session: AsyncSession, token_hash: str, now: datetime
) -> tuple[AccessToken, User] | None:
    stmt = (
        select(AccessToken, User)
        .join(User, User.id == AccessToken.user_id)
        .where(
            AccessToken.token_hash == token_hash,
            AccessToken.revoked_at.is_(None),
            or_(AccessToken.expires_at.is_(None), AccessToken.expires_at > now),
        )
    )
    row = (await session.execute(stmt)).one_or_none()
    return None if row is None else (row[0], row[1])


async def grants_of(session: AsyncSession, user_id: str) -> list[Grant]:
    stmt = select(Grant).where(Grant.user_id == user_id)
    return list((await session.execute(stmt)).scalars())


def split_grants(grants: list[Grant]) -> tuple[bool, frozenset[str]]:
    is_operator_admin = any(g.role == OPERATOR_ADMIN for g in grants)
    account_ids = frozenset(
        g.account_id for g in grants if g.role == ACCOUNT_ADMIN and g.account_id is not None
    )
    return is_operator_admin, account_ids
