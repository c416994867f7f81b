"""Every query about accounts; the caller's reach lives in ``visible_to``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.auth.subject import AuthSubject
from chargegroups.models import Account, AccountDomain, GroupMembership, User


def visible_to(subject: AuthSubject) -> ColumnElement[bool]:
    """Operator admins: every account of the operator; account admins: their accounts."""
    in_operator = Account.operator_id == subject.operator_id
    if subject.is_operator_admin:
        return in_operator
    if not subject.admin_account_ids:
        return false()
    return and_(in_operator, Account.id.in_(subject.admin_account_ids))


async def find_visible(
    session: AsyncSession, subject: AuthSubject, account_id: str
) -> Account | None:
    stmt = select(Account).where(Account.id == account_id, visible_to(subject))
    return (await session.execute(stmt)).scalar_one_or_none()


async def domains_of(session: AsyncSession, account_ids: Sequence[str]) -> dict[str, list[str]]:
    by_account: dict[str, list[str]] = {account_id: [] for account_id in account_ids}
    stmt = (
        select(AccountDomain.account_id, AccountDomain.domain)
        .where(AccountDomain.account_id.in_(account_ids))
        .order_by(AccountDomain.domain)
    )
    for account_id, domain in (await session.execute(stmt)).all():
        by_account[account_id].append(domain)
    return by_account


async def domains_held_elsewhere(
    session: AsyncSession, operator_id: str, account_id: str, domains: Sequence[str]
) -> list[str]:
    stmt = select(AccountDomain.domain).where(
        AccountDomain.operator_id == operator_id,
        AccountDomain.domain.in_(domains),
        AccountDomain.account_id != account_id,
    )
    return sorted((await session.execute(stmt)).scalars())


async def name_taken(
    session: AsyncSession, operator_id: str, name_normalized: str, *, but: str = ""
) -> bool:
    stmt = select(Account.id).where(
        Account.operator_id == operator_id,
        Account.name_normalized == name_normalized,
        Account.id != but,
    )
    return (await session.execute(stmt)).first() is not None


def members_stmt(account_id: str, *, q: str | None, group_id: str | None) -> Select[Any]:
    stmt = select(User).where(User.account_id == account_id)
    if q:
        pattern = (
            "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        stmt = stmt.where(
            or_(
                User.email_normalized.like(pattern, escape="\\"),
                User.name.ilike(pattern, escape="\\"),
            )
        )
    if group_id is not None:
        stmt = stmt.where(
            User.id.in_(select(GroupMembership.user_id).where(GroupMembership.group_id == group_id))
        )
    return stmt
