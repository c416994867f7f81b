"""Login, bearer tokens and API tokens. Every failure is the same 401: no hint which part."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.audit.service import record_change
from chargegroups.auth import caller_cache, repository
from chargegroups.auth.caller_cache import CallerCache
from chargegroups.auth.subject import AuthSubject
from chargegroups.database import ReadPool, Reads
from chargegroups.errors import NotFound, NotPermitted, Unauthenticated
from chargegroups.kit.clock import utcnow
from chargegroups.kit.secrets import (
    hash_password_off_loop,
    hash_token,
    new_token,
    verify_password_off_loop,
)
from chargegroups.limits.counters import FailureLimits
from chargegroups.limits.rules import limit_key
from chargegroups.models import AccessToken, User
from chargegroups.models.access_token import CONSOLE_SESSION
from chargegroups.models.grant import ACCOUNT_ADMIN, OPERATOR_ADMIN
from chargegroups.user.rules import normalize_email

LOGIN_FAILED = "Invalid credentials."


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A freshly issued token: the only moment its clear text exists."""

    token: str
    record: AccessToken


async def login(
    session: AsyncSession,
    reads: ReadPool,
    guard: FailureLimits,
    *,
    operator_slug: str,
    email: str,
    password: str,
    client_address: str,
    ttl_seconds: int,
    kind: str = "login",
) -> IssuedToken:
    """A bearer token for the right password, unless the email or the address is refused.

    While refused after failures (429), even the right password is not looked at: guessing gets
    slower and slower whoever's the account. The keys are the email as typed and the address,
    never whether such a user exists, so known and unknown users answer alike.
    """
    email_key = limit_key("login", f"{operator_slug}\n{normalize_email(email)}")
    address_key = limit_key("login-address", client_address)
    await guard.check(email_key, address_key)
    candidate = await repository.login_candidate(reads, operator_slug, normalize_email(email))
    # The hash is checked even without a user, so timing tells nothing either.
    right = await verify_password_off_loop(password, candidate[1] if candidate else None)
    if candidate is None or not right or candidate[2]:
        await guard.failed(email_key, address_key)
        raise Unauthenticated(LOGIN_FAILED, code="invalid_credentials")
    await guard.succeeded(email_key)
    user = await session.get_one(User, candidate[0])
    return await issue_token(
        session, user, kind=kind, expires_at=utcnow() + timedelta(seconds=ttl_seconds)
    )


async def issue_token(
    session: AsyncSession,
    user: User,
    *,
    kind: str,
    expires_at: datetime | None,
    name: str | None = None,
) -> IssuedToken:
    token = new_token({"api": "cg_pat", CONSOLE_SESSION: "cg_cs"}.get(kind, "cg_at"))
    record = AccessToken(
        operator_id=user.operator_id,
        user_id=user.id,
        token_hash=hash_token(token),
        kind=kind,
        name=name,
        expires_at=expires_at,
    )
    session.add(record)
    await session.flush()
    return IssuedToken(token=token, record=record)


async def authenticate(
    db: Reads, token: str, cache: CallerCache | None = None, *, console: bool = False
) -> AuthSubject:
    """The holder of a bearer token or, with ``console``, of a console session's id."""
    token_hash = hash_token(token)
    now = utcnow()
    if console:
        return await _read_subject(db, token_hash, now, None, console=True)
    if cache is None:
        return await _read_subject(db, token_hash, now, None)
    if (known := cache.get(token_hash, now)) is not None:
        return known
    if isinstance(db, ReadPool):  # not bound to this request: the read can be shared
        return await cache.read_once(token_hash, lambda: _read_subject(db, token_hash, now, cache))
    return await _read_subject(db, token_hash, now, cache)


async def _read_subject(
    db: Reads, token_hash: str, now: datetime, cache: CallerCache | None, *, console: bool = False
) -> AuthSubject:
    read_at = caller_cache.generation()  # before the read: see CallerCache.put
    rows, expires_at = await repository.live_token_subject_rows(
        db, token_hash, now, console=console
    )
    if not rows or rows[0][3]:  # unknown, expired, revoked, or its user is blocked
        raise Unauthenticated("Missing, expired or revoked credentials.")
    subject = _subject(rows)
    if cache is not None:
        cache.put(token_hash, subject, read_at_generation=read_at, expires_at=expires_at)
    return subject


async def subject_for(session: AsyncSession, user: User) -> AuthSubject:
    """The subject of a user already known (console flows, tests), with its current grants."""
    return _subject(await repository.user_subject_rows(session, user.id))


def _subject(rows: list[repository.SubjectRow]) -> AuthSubject:
    user_id, operator_id, account_id = rows[0][:3]
    return AuthSubject(
        user_id=user_id,
        operator_id=operator_id,
        account_id=account_id,
        is_operator_admin=any(role == OPERATOR_ADMIN for *_, role, _ in rows),
        admin_account_ids=frozenset(
            granted for *_, role, granted in rows if role == ACCOUNT_ADMIN and granted
        ),
    )


async def create_api_token(
    session: AsyncSession, subject: AuthSubject, *, name: str, expires_at: datetime | None
) -> IssuedToken:
    user = await session.get_one(User, subject.user_id)
    issued = await issue_token(session, user, kind="api", expires_at=expires_at, name=name)
    await record_change(
        session,
        subject.actor,
        "api_token.created",
        target_type="access_token",
        target_id=issued.record.id,
        operator_id=subject.operator_id,
        account_id=subject.account_id,
        after={"name": name, "expires_at": expires_at.isoformat() if expires_at else None},
    )
    return issued


async def list_api_tokens(session: AsyncSession, subject: AuthSubject) -> list[AccessToken]:
    stmt = (
        select(AccessToken)
        .where(
            AccessToken.user_id == subject.user_id,
            AccessToken.kind == "api",
            AccessToken.revoked_at.is_(None),
        )
        .order_by(AccessToken.id)
    )
    return list((await session.execute(stmt)).scalars())


async def revoke_api_token(session: AsyncSession, subject: AuthSubject, token_id: str) -> None:
    record = await session.get(AccessToken, token_id)
    if record is None or record.user_id != subject.user_id or record.kind != "api":
        raise NotFound("No such API token.")
    if record.revoked_at is None:
        record.revoked_at = utcnow()
        await record_change(
            session,
            subject.actor,
            "api_token.revoked",
            target_type="access_token",
            target_id=record.id,
            operator_id=subject.operator_id,
            account_id=subject.account_id,
        )


async def change_password(
    session: AsyncSession,
    subject: AuthSubject,
    *,
    current_password: str,
    new_password: str,
    keep_token: str | None,
) -> None:
    """The caller's own password, given the current one. Every other sign-in of the caller
    (login and console tokens, ``keep_token`` aside) ends: whoever knew the old password is
    signed out. API tokens stay; each is revoked on its own."""
    user = await session.get(User, subject.user_id)
    if user is None:
        raise NotFound("No such user.")
    if not await verify_password_off_loop(current_password, user.password_hash):
        raise NotPermitted("The current password is not right.", code="wrong_password")
    user.password_hash = await hash_password_off_loop(new_password)
    kept = hash_token(keep_token) if keep_token is not None else None
    now = utcnow()
    for record in await repository.live_sign_ins(session, user.id):
        if record.token_hash != kept:
            record.revoked_at = now
    await record_change(
        session,
        subject.actor,
        "user.password_changed",
        target_type="user",
        target_id=user.id,
        operator_id=user.operator_id,
        account_id=user.account_id,
    )


async def revoke_token(session: AsyncSession, token: str) -> None:
    """Logout: the presented token stops working at once."""
    found = await repository.find_live_token(session, hash_token(token), utcnow())
    if found is not None:
        found[0].revoked_at = utcnow()
