"""Operators: the tenants. Created from the CLI; read by every user, changed by its admins."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.audit.service import record_change
from chargegroups.auth import repository as auth_repository
from chargegroups.auth.subject import SYSTEM, AuthSubject
from chargegroups.errors import Conflict, InvalidInput, NotFound, NotPermitted
from chargegroups.kit.clock import utcnow
from chargegroups.kit.patch import reject_nulls
from chargegroups.kit.secrets import hash_password_off_loop
from chargegroups.models import Account, Grant, Operator, RatePlan, User
from chargegroups.models.grant import OPERATOR_ADMIN
from chargegroups.onboarding.rules import MIN_PASSWORD_LENGTH
from chargegroups.user.rules import new_parent_id_tag, normalize_email

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
DEFAULT_ACCOUNT_NAME = "Default account"
EDITABLE = (
    "name",
    "default_rate_plan_id",
    "self_signup_enabled",
    "auth_cache_ttl_seconds",
    "timezone",
    "max_session_hours",
)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"The password needs at least {MIN_PASSWORD_LENGTH} characters.", code="weak_password"
        )


@dataclass(frozen=True, slots=True)
class CreatedOperator:
    operator: Operator
    default_account: Account
    admin: User


async def create_operator(
    session: AsyncSession,
    *,
    slug: str,
    name: str,
    admin_email: str,
    admin_password: str,
    admin_name: str = "Operator admin",
    auth_cache_ttl_seconds: int = 900,
) -> CreatedOperator:
    """An operator, its default account and its first operator admin, in one transaction."""
    if not SLUG.match(slug):
        raise InvalidInput(
            "The slug must be lower-case letters, digits and dashes.", code="invalid_slug"
        )
    _check_password(admin_password)
    if (await session.execute(select(Operator.id).where(Operator.slug == slug))).first():
        raise Conflict(f"An operator with slug {slug!r} exists already.", code="slug_taken")
    operator = Operator(slug=slug, name=name, auth_cache_ttl_seconds=auth_cache_ttl_seconds)
    session.add(operator)
    await session.flush()
    account = Account(
        operator_id=operator.id,
        name=DEFAULT_ACCOUNT_NAME,
        name_normalized=DEFAULT_ACCOUNT_NAME.lower(),
        is_default=True,
    )
    session.add(account)
    await session.flush()
    admin = await _new_user(
        session,
        operator.id,
        account.id,
        email=admin_email,
        name=admin_name,
        password=admin_password,
    )
    session.add(
        Grant(
            operator_id=operator.id,
            user_id=admin.id,
            role=OPERATOR_ADMIN,
            scope_id=operator.id,
        )
    )
    await record_change(
        session,
        SYSTEM,
        "operator.created",
        target_type="operator",
        target_id=operator.id,
        operator_id=operator.id,
        after={"slug": slug, "name": name, "admin_email": admin.email},
    )
    return CreatedOperator(operator=operator, default_account=account, admin=admin)


async def get_operator(session: AsyncSession, subject: AuthSubject) -> Operator:
    return await session.get_one(Operator, subject.operator_id)


async def get_by_slug(session: AsyncSession, slug: str) -> Operator:
    operator = (
        await session.execute(select(Operator).where(Operator.slug == slug))
    ).scalar_one_or_none()
    if operator is None:
        raise NotFound(f"No operator {slug!r}.")
    return operator


async def update_operator(
    session: AsyncSession, subject: AuthSubject, changes: dict[str, Any]
) -> Operator:
    if not subject.is_operator_admin:
        raise NotPermitted("Only operator admins change operator settings.")
    operator = await get_operator(session, subject)
    reject_nulls(
        changes,
        "name",
        "self_signup_enabled",
        "auth_cache_ttl_seconds",
        "timezone",
        "max_session_hours",
    )
    if "timezone" in changes:
        try:
            ZoneInfo(changes["timezone"])
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput("Unknown time zone.", code="invalid_timezone") from None
    if changes.get("default_rate_plan_id") is not None:
        plan = await session.get(RatePlan, changes["default_rate_plan_id"])
        if plan is None or plan.operator_id != operator.id:
            raise InvalidInput("No such rate plan.", code="unknown_rate_plan")
    before = {key: getattr(operator, key) for key in changes}
    for key, value in changes.items():
        if key in EDITABLE:
            setattr(operator, key, value)
    await session.flush()
    await record_change(
        session,
        subject.actor,
        "operator.updated",
        target_type="operator",
        target_id=operator.id,
        operator_id=operator.id,
        before=before,
        after=changes,
    )
    return operator


async def _new_user(
    session: AsyncSession,
    operator_id: str,
    account_id: str,
    *,
    email: str,
    name: str,
    password: str,
) -> User:
    user = User(
        operator_id=operator_id,
        account_id=account_id,
        email=email.strip(),
        email_normalized=normalize_email(email),
        name=name,
        password_hash=await hash_password_off_loop(password),
        parent_id_tag=new_parent_id_tag(),
    )
    session.add(user)
    await session.flush()
    return user


async def user_exists(session: AsyncSession, *, operator_slug: str, email: str) -> bool:
    return await _find_user(session, operator_slug, email) is not None


async def _find_user(session: AsyncSession, operator_slug: str, email: str) -> User | None:
    return await auth_repository.find_user_for_login(session, operator_slug, normalize_email(email))


async def add_operator_admin(
    session: AsyncSession, *, operator_slug: str, email: str, name: str, password: str | None
) -> User:
    """An operator admin more (the CLI's ``user add-admin``): the operator's user with this email
    is granted the role, or, with no such user, one is made in the default account with
    ``password``."""
    operator = await _operator_by_slug(session, operator_slug)
    user = await _find_user(session, operator_slug, email)
    if user is None:
        if password is None:
            raise InvalidInput("A new user needs a password.", code="weak_password")
        _check_password(password)
        default = (
            await session.execute(
                select(Account).where(Account.operator_id == operator.id, Account.is_default)
            )
        ).scalar_one()
        user = await _new_user(
            session, operator.id, default.id, email=email, name=name, password=password
        )
    already = await session.execute(
        select(Grant.id).where(Grant.user_id == user.id, Grant.role == OPERATOR_ADMIN)
    )
    if already.first():
        raise Conflict(f"{user.email} is an operator admin already.", code="already_admin")
    session.add(
        Grant(operator_id=operator.id, user_id=user.id, role=OPERATOR_ADMIN, scope_id=operator.id)
    )
    await record_change(
        session,
        SYSTEM,
        "grant.created",
        target_type="user",
        target_id=user.id,
        operator_id=operator.id,
        account_id=user.account_id,
        after={"role": OPERATOR_ADMIN},
    )
    return user


async def reset_password(
    session: AsyncSession, *, operator_slug: str, email: str, password: str
) -> User:
    """A user's password set by whoever runs the CLI (a forgotten one); every sign-in of the
    user but its API tokens ends."""
    _check_password(password)
    user = await _find_user(session, operator_slug, email)
    if user is None:
        raise NotFound("No such user at that operator.")
    user.password_hash = await hash_password_off_loop(password)
    now = utcnow()
    for record in await auth_repository.live_sign_ins(session, user.id):
        record.revoked_at = now
    await record_change(
        session,
        SYSTEM,
        "user.password_reset",
        target_type="user",
        target_id=user.id,
        operator_id=user.operator_id,
        account_id=user.account_id,
    )
    return user


async def _operator_by_slug(session: AsyncSession, slug: str) -> Operator:
    operator = (
        await session.execute(select(Operator).where(Operator.slug == slug))
    ).scalar_one_or_none()
    if operator is None:
        raise NotFound(f"No operator {slug!r}.")
    return operator
