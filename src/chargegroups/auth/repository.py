from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.database import Reads, fetch_rows
from chargegroups.kit.clock import from_database
from chargegroups.models import AccessToken, Grant, Operator, User
from chargegroups.models.access_token import CONSOLE_SESSION

_LOGIN_ROWS = cast(
    "Select[Any]",
    select(User.id, User.password_hash, User.blocked)
    .join(Operator, Operator.id == User.operator_id)
    .where(Operator.slug == bindparam("slug"), User.email_normalized == bindparam("email")),
)


async def login_candidate(
    db: Reads, operator_slug: str, email_normalized: str
) -> tuple[str, str | None, bool] | None:
    """``(user id, password hash, blocked)`` of the user logging in, if there is one. On the
    read pool: the password check that follows holds no connection of the request's."""
    rows = await fetch_rows(db, _LOGIN_ROWS, {"slug": operator_slug, "email": email_normalized})
    if not rows:
        return None
    user_id, password_hash, blocked = rows[0]
    return user_id, password_hash, bool(blocked)


async def find_user_for_login(
    session: AsyncSession, operator_slug: str, email_normalized: str
) -> User | None:
    """The user an operator slug and email name, as a row to change (the command line's)."""
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


async def live_sign_ins(session: AsyncSession, user_id: str) -> list[AccessToken]:
    """The user's unrevoked login and console tokens (not the API tokens they made)."""
    stmt = select(AccessToken).where(
        AccessToken.user_id == user_id,
        AccessToken.kind.in_(("login", "console")),
        AccessToken.revoked_at.is_(None),
    )
    return list((await session.execute(stmt)).scalars())


SubjectRow = tuple[str, str, str, bool, str | None, str | None]

# (user id, operator id, account id, blocked, role, granted account id), one row per grant and
# one with role None for a user without grants. Built once: every request authenticates, and
# constructing the statement costs more than running it.
_SUBJECT_ROWS = select(
    User.id, User.operator_id, User.account_id, User.blocked, Grant.role, Grant.account_id
).outerjoin(Grant, Grant.user_id == User.id)

_LIVE_TOKEN_ROWS = (
    _SUBJECT_ROWS.add_columns(AccessToken.expires_at)
    .join(AccessToken, AccessToken.user_id == User.id)
    .where(
        AccessToken.token_hash == bindparam("token_hash"),
        AccessToken.revoked_at.is_(None),
        or_(AccessToken.expires_at.is_(None), AccessToken.expires_at > bindparam("now")),
    )
)
# A console session's id is no bearer token, and a bearer token opens no console session.
_LIVE_TOKEN_SUBJECT_ROWS = _LIVE_TOKEN_ROWS.where(AccessToken.kind != CONSOLE_SESSION)
_LIVE_CONSOLE_SESSION_ROWS = _LIVE_TOKEN_ROWS.where(AccessToken.kind == CONSOLE_SESSION)

_USER_SUBJECT_ROWS = _SUBJECT_ROWS.where(User.id == bindparam("user_id"))


async def live_token_subject_rows(
    db: Reads, token_hash: str, now: datetime, *, console: bool = False
) -> tuple[list[SubjectRow], datetime | None]:
    """The holder of a live token with its grants, and when the token expires, in one round
    trip; no rows for an unknown, expired or revoked token. Every authenticated request that
    is not answered from the caller cache runs it, so it goes through the driver. ``console``:
    a console session's id instead of a bearer token."""
    params = {"token_hash": token_hash, "now": now}
    stmt = _LIVE_CONSOLE_SESSION_ROWS if console else _LIVE_TOKEN_SUBJECT_ROWS
    found = await fetch_rows(db, stmt, params)
    rows: list[SubjectRow] = [
        (user_id, operator_id, account_id, bool(blocked), role, granted)
        for user_id, operator_id, account_id, blocked, role, granted, _ in found
    ]
    return rows, (from_database(found[0][6]) if found else None)


async def user_subject_rows(session: AsyncSession, user_id: str) -> list[SubjectRow]:
    rows: list[SubjectRow] = list(
        (await session.execute(_USER_SUBJECT_ROWS, {"user_id": user_id})).all()
    )
    return rows
