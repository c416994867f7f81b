"""Users as admins see them, and drivers' tokens (RFID, app, eMAID)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.audit.service import record_change
from chargegroups.auth.subject import Actor, AuthSubject
from chargegroups.charger.revocation import access_revoked
from chargegroups.errors import Conflict, NotFound, NotPermitted
from chargegroups.group import repository as groups
from chargegroups.kit.clock import utcnow
from chargegroups.kit.patch import reject_nulls
from chargegroups.models import DriverToken, User, UserGroup


@dataclass(frozen=True, slots=True)
class UserListItem:
    """API.md "Users in lists": the user with its current and financially owned groups."""

    user: User
    groups: list[UserGroup]
    financial_groups: list[UserGroup]


def managed_by(subject: AuthSubject) -> ColumnElement[bool]:
    """The users ``subject`` administers: the operator's for its admins, else its accounts'."""
    in_operator = User.operator_id == subject.operator_id
    if subject.is_operator_admin:
        return in_operator
    if not subject.admin_account_ids:
        return false()
    return and_(in_operator, User.account_id.in_(subject.admin_account_ids))


async def list_items(session: AsyncSession, users: Sequence[User]) -> list[UserListItem]:
    ids = [u.id for u in users]
    current = await groups.current_groups_of(session, ids, utcnow())
    financial = await groups.financial_groups_of(session, ids)
    return [
        UserListItem(user=u, groups=current[u.id], financial_groups=financial[u.id]) for u in users
    ]


async def _user(
    session: AsyncSession, subject: AuthSubject, user_id: str, *, self_ok: bool
) -> User:
    """A user the caller administers (or itself when ``self_ok``); NotFound otherwise (R3)."""
    reach = or_(managed_by(subject), User.id == subject.user_id) if self_ok else managed_by(subject)
    user = (
        await session.execute(select(User).where(User.id == user_id, reach))
    ).scalar_one_or_none()
    if user is None:
        raise NotFound("No such user.")
    return user


async def update_user(
    session: AsyncSession, subject: AuthSubject, user_id: str, changes: dict[str, Any]
) -> UserListItem:
    user = await _user(session, subject, user_id, self_ok=False)
    if not subject.is_operator_admin:
        raise NotPermitted("Only operator admins block or rename users.", code="not_permitted")
    reject_nulls(changes, "name", "blocked")
    await change_user(session, subject.actor, user, changes)
    return (await list_items(session, [user]))[0]


async def change_user(
    session: AsyncSession, actor: Actor, user: User, changes: dict[str, Any]
) -> None:
    """Rename, block or unblock a user the caller may change (its reach checked already):
    the operator's admins through ``update_user``, the account's identity provider (A10).
    Blocking ends the user's logins and its tokens' cached acceptance at once."""
    before = {key: getattr(user, key) for key in changes}
    newly_blocked = changes.get("blocked") is True and not user.blocked
    for key, value in changes.items():
        setattr(user, key, value)
    await session.flush()
    await record_change(
        session,
        actor,
        "user.updated",
        target_type="user",
        target_id=user.id,
        operator_id=user.operator_id,
        account_id=user.account_id,
        before=before,
        after=changes,
    )
    if newly_blocked:
        # Any charger may hold this user's tokens in its cache.
        access_revoked(session, operator_id=user.operator_id)


async def list_tokens(
    session: AsyncSession, subject: AuthSubject, user_id: str
) -> list[DriverToken]:
    user = await _user(session, subject, user_id, self_ok=True)
    stmt = select(DriverToken).where(DriverToken.user_id == user.id).order_by(DriverToken.id)
    return list((await session.execute(stmt)).scalars())


def normalize_uid(uid: str) -> str:
    """Token uids are unique per operator, case-insensitively."""
    return uid.strip().lower()


async def create_token(
    session: AsyncSession,
    subject: AuthSubject,
    user_id: str,
    *,
    uid: str,
    type: str,
    expires_at: datetime | None,
) -> DriverToken:
    user = await _user(session, subject, user_id, self_ok=False)
    normalized = normalize_uid(uid)
    taken = select(DriverToken.id).where(
        DriverToken.operator_id == user.operator_id, DriverToken.uid_normalized == normalized
    )
    if (await session.execute(taken)).first() is not None:
        raise Conflict("This token uid is in use already.", code="token_uid_taken")
    token = DriverToken(
        operator_id=user.operator_id,
        user_id=user.id,
        uid=uid,
        uid_normalized=normalized,
        type=type,
        expires_at=expires_at,
    )
    session.add(token)
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict("This token uid is in use already.", code="token_uid_taken") from None
    await record_change(
        session,
        subject.actor,
        "token.created",
        target_type="token",
        target_id=token.id,
        operator_id=user.operator_id,
        account_id=user.account_id,
        after={"user_id": user.id, "uid": uid, "type": type, "expires_at": _iso(expires_at)},
    )
    return token


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


async def update_token(
    session: AsyncSession, subject: AuthSubject, token_id: str, changes: dict[str, Any]
) -> DriverToken:
    token = await session.get(DriverToken, token_id)
    if token is None:
        raise NotFound("No such token.")
    user = await _user(session, subject, token.user_id, self_ok=False)
    reject_nulls(changes, "blocked")
    before = {"blocked": token.blocked, "expires_at": _iso(token.expires_at)}
    revokes = (changes.get("blocked") is True and not token.blocked) or (
        changes.get("expires_at") is not None
        and (token.expires_at is None or changes["expires_at"] < token.expires_at)
    )
    for key, value in changes.items():
        setattr(token, key, value)
    await session.flush()
    await record_change(
        session,
        subject.actor,
        "token.updated",
        target_type="token",
        target_id=token.id,
        operator_id=token.operator_id,
        account_id=user.account_id,
        before=before,
        after={"blocked": token.blocked, "expires_at": _iso(token.expires_at)},
    )
    if revokes:
        access_revoked(session, operator_id=token.operator_id)
    return token
