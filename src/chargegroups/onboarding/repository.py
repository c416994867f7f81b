"""Every onboarding query. Callers pass the operator (and account) they are scoped to."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.models import (
    Account,
    AccountDomain,
    ChargerScope,
    DriverToken,
    EmailVerification,
    GroupMembership,
    Invitation,
    JoinLink,
    Operator,
    User,
    UserGroup,
)

_CHUNK = 500


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


async def operator_by_slug(session: AsyncSession, slug: str) -> Operator | None:
    stmt = select(Operator).where(Operator.slug == slug)
    return (await session.execute(stmt)).scalar_one_or_none()


async def account_in_operator(
    session: AsyncSession, operator_id: str, account_id: str
) -> Account | None:
    account = await session.get(Account, account_id)
    return account if account is not None and account.operator_id == operator_id else None


async def account_by_id_or_name(
    session: AsyncSession, operator_id: str, id_or_name: str
) -> Account | None:
    stmt = select(Account).where(
        Account.operator_id == operator_id,
        or_(Account.id == id_or_name, Account.name_normalized == id_or_name.strip().lower()),
    )
    return (await session.execute(stmt)).scalars().first()


async def default_account(session: AsyncSession, operator_id: str) -> Account:
    stmt = select(Account).where(Account.operator_id == operator_id, Account.is_default.is_(True))
    return (await session.execute(stmt)).scalar_one()


async def account_for_domain(
    session: AsyncSession, operator_id: str, domain: str
) -> Account | None:
    stmt = (
        select(Account)
        .join(AccountDomain, AccountDomain.account_id == Account.id)
        .where(AccountDomain.operator_id == operator_id, AccountDomain.domain == domain)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def user_in_operator(session: AsyncSession, operator_id: str, user_id: str) -> User | None:
    user = await session.get(User, user_id)
    return user if user is not None and user.operator_id == operator_id else None


async def user_by_email(
    session: AsyncSession, operator_id: str, email_normalized: str
) -> User | None:
    stmt = select(User).where(
        User.operator_id == operator_id, User.email_normalized == email_normalized
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def users_by_emails(
    session: AsyncSession, operator_id: str, emails: Sequence[str]
) -> dict[str, User]:
    found: dict[str, User] = {}
    for chunk in _chunks(emails):
        stmt = select(User).where(User.operator_id == operator_id, User.email_normalized.in_(chunk))
        found.update({u.email_normalized: u for u in (await session.execute(stmt)).scalars()})
    return found


async def tokens_by_uids(
    session: AsyncSession, operator_id: str, uids: Sequence[str]
) -> dict[str, DriverToken]:
    found: dict[str, DriverToken] = {}
    for chunk in _chunks(uids):
        stmt = select(DriverToken).where(
            DriverToken.operator_id == operator_id, DriverToken.uid_normalized.in_(chunk)
        )
        found.update({t.uid_normalized: t for t in (await session.execute(stmt)).scalars()})
    return found


async def invitation_by_hash(session: AsyncSession, token_hash: str) -> Invitation | None:
    stmt = select(Invitation).where(Invitation.token_hash == token_hash)
    return (await session.execute(stmt)).scalar_one_or_none()


async def join_link_by_hash(session: AsyncSession, token_hash: str) -> JoinLink | None:
    stmt = select(JoinLink).where(JoinLink.token_hash == token_hash)
    return (await session.execute(stmt)).scalar_one_or_none()


async def verification_by_hash(session: AsyncSession, token_hash: str) -> EmailVerification | None:
    stmt = select(EmailVerification).where(EmailVerification.token_hash == token_hash)
    return (await session.execute(stmt)).scalar_one_or_none()


async def mark_invitation_accepted(
    session: AsyncSession, invitation_id: str, now: datetime
) -> bool:
    """Single use, race-safe: only one of two concurrent accepts changes the row."""
    result = await session.execute(
        update(Invitation)
        .where(
            Invitation.id == invitation_id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
        )
        .values(accepted_at=now)
        .execution_options(synchronize_session=False)
    )
    return _changed(result)


async def count_join_link_use(session: AsyncSession, link_id: str, now: datetime) -> bool:
    """One more use, race-safe: never past max_uses however many join at once."""
    result = await session.execute(
        update(JoinLink)
        .where(
            JoinLink.id == link_id,
            JoinLink.revoked_at.is_(None),
            or_(JoinLink.expires_at.is_(None), JoinLink.expires_at > now),
            or_(JoinLink.max_uses.is_(None), JoinLink.uses < JoinLink.max_uses),
        )
        .values(uses=JoinLink.uses + 1)
        .execution_options(synchronize_session=False)
    )
    return _changed(result)


async def mark_verification_used(
    session: AsyncSession, verification_id: str, now: datetime
) -> bool:
    result = await session.execute(
        update(EmailVerification)
        .where(
            EmailVerification.id == verification_id,
            EmailVerification.used_at.is_(None),
            EmailVerification.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return _changed(result)


def _changed(result: object) -> bool:
    return getattr(result, "rowcount", 0) == 1


async def groups_paid_by(session: AsyncSession, user_id: str, account_id: str) -> list[UserGroup]:
    stmt = (
        select(UserGroup)
        .where(UserGroup.account_id == account_id, UserGroup.financial_owner_id == user_id)
        .order_by(UserGroup.id)
    )
    return list((await session.execute(stmt)).scalars())


async def account_memberships(
    session: AsyncSession, user_id: str, account_id: str
) -> list[GroupMembership]:
    stmt = (
        select(GroupMembership)
        .join(UserGroup, UserGroup.id == GroupMembership.group_id)
        .where(GroupMembership.user_id == user_id, UserGroup.account_id == account_id)
        .order_by(GroupMembership.group_id)
    )
    return list((await session.execute(stmt)).scalars())


async def delete_memberships(session: AsyncSession, membership_ids: Sequence[str]) -> None:
    await session.execute(
        delete(GroupMembership)
        .where(GroupMembership.id.in_(membership_ids))
        .execution_options(synchronize_session=False)
    )


async def chargers_scoping(session: AsyncSession, group_ids: Sequence[str]) -> list[str]:
    stmt = select(ChargerScope.charger_id).where(ChargerScope.group_id.in_(group_ids)).distinct()
    return list((await session.execute(stmt)).scalars())
