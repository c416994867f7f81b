"""Accounts: the operator's customers, their email domains (A1) and their admins (R2)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.account import repository
from chargegroups.account.rules import normalize_domain
from chargegroups.audit.service import record_change
from chargegroups.auth.subject import AuthSubject
from chargegroups.errors import Conflict, InvalidInput, NotFound, NotPermitted
from chargegroups.kit.pagination import Page, PageRequest, paginate
from chargegroups.kit.patch import reject_nulls
from chargegroups.models import Account, AccountDomain, Grant, RatePlan, User
from chargegroups.models.grant import ACCOUNT_ADMIN
from chargegroups.user import service as users
from chargegroups.user.service import UserListItem

EDITABLE = ("name", "email_domains", "default_rate_plan_id", "admins_may_create_groups")
# Account admins may rename their account; domains, rate plan and delegation stay with the
# operator (domains decide who lands on whose bill, A4).
ACCOUNT_ADMIN_FIELDS = frozenset({"name"})
NAME_MAX = 200


@dataclass(frozen=True, slots=True)
class AccountView:
    account: Account
    email_domains: list[str]


def normalize_account_name(name: str) -> str:
    normalized = " ".join(name.split()).casefold()
    if len(normalized) > NAME_MAX:  # case folding may lengthen a name ("ß" is "ss")
        raise InvalidInput(f"Names are at most {NAME_MAX} characters.", code="name_too_long")
    return normalized


async def visible_account(session: AsyncSession, subject: AuthSubject, account_id: str) -> Account:
    """The account if ``subject`` administers it; NotFound otherwise (R3)."""
    account = await repository.find_visible(session, subject, account_id)
    if account is None:
        raise NotFound("No such account.")
    return account


async def _views(session: AsyncSession, accounts: Sequence[Account]) -> list[AccountView]:
    domains = await repository.domains_of(session, [a.id for a in accounts])
    return [AccountView(account=a, email_domains=domains[a.id]) for a in accounts]


async def list_accounts(
    session: AsyncSession, subject: AuthSubject, page: PageRequest
) -> Page[AccountView]:
    if not subject.is_admin:
        raise NotPermitted("Only admins list accounts.")
    stmt = select(Account).where(repository.visible_to(subject))
    found = await paginate(session, stmt, Account.id, page)
    return Page(items=await _views(session, found.items), next_cursor=found.next_cursor)


async def get_account(session: AsyncSession, subject: AuthSubject, account_id: str) -> AccountView:
    return (await _views(session, [await visible_account(session, subject, account_id)]))[0]


def _normalized_domains(domains: Sequence[str]) -> list[str]:
    return sorted({normalize_domain(d) for d in domains})


async def _check_rate_plan(session: AsyncSession, operator_id: str, plan_id: str | None) -> None:
    if plan_id is not None:
        plan = await session.get(RatePlan, plan_id)
        if plan is None or plan.operator_id != operator_id:
            raise InvalidInput("No such rate plan.", code="unknown_rate_plan")


async def _set_domains(session: AsyncSession, account: Account, domains: list[str]) -> None:
    """A1: a domain belongs to at most one account per operator."""
    taken = await repository.domains_held_elsewhere(
        session, account.operator_id, account.id, domains
    )
    if taken:
        raise Conflict(
            f"Already used by another account: {', '.join(taken)}.",
            code="domain_taken",
            domains=taken,
        )
    await session.execute(delete(AccountDomain).where(AccountDomain.account_id == account.id))
    session.add_all(
        AccountDomain(operator_id=account.operator_id, account_id=account.id, domain=d)
        for d in domains
    )


async def _flush_unique(session: AsyncSession) -> None:
    try:
        await session.flush()
    except IntegrityError:
        # A parallel request took the name or a domain first.
        raise Conflict(
            "The account's name or one of its domains was taken meanwhile.", code="conflict"
        ) from None


async def create_account(
    session: AsyncSession,
    subject: AuthSubject,
    *,
    name: str,
    email_domains: Sequence[str] = (),
    default_rate_plan_id: str | None = None,
    admins_may_create_groups: bool = False,
) -> AccountView:
    if not subject.is_operator_admin:
        raise NotPermitted("Only operator admins create accounts.")
    normalized = normalize_account_name(name)
    if await repository.name_taken(session, subject.operator_id, normalized):
        raise Conflict("An account with this name exists.", code="name_taken")
    await _check_rate_plan(session, subject.operator_id, default_rate_plan_id)
    domains = _normalized_domains(email_domains)
    account = Account(
        operator_id=subject.operator_id,
        name=name,
        name_normalized=normalized,
        default_rate_plan_id=default_rate_plan_id,
        admins_may_create_groups=admins_may_create_groups,
    )
    session.add(account)
    await _flush_unique(session)
    await _set_domains(session, account, domains)
    await _flush_unique(session)
    await record_change(
        session,
        subject.actor,
        "account.created",
        target_type="account",
        target_id=account.id,
        operator_id=account.operator_id,
        account_id=account.id,
        after={
            "name": name,
            "email_domains": domains,
            "default_rate_plan_id": default_rate_plan_id,
            "admins_may_create_groups": admins_may_create_groups,
        },
    )
    return AccountView(account=account, email_domains=domains)


async def update_account(
    session: AsyncSession, subject: AuthSubject, account_id: str, changes: dict[str, Any]
) -> AccountView:
    account = await visible_account(session, subject, account_id)
    if not subject.is_operator_admin and not set(changes) <= ACCOUNT_ADMIN_FIELDS:
        raise NotPermitted(
            "Account admins may change only the account's name.", code="field_not_permitted"
        )
    reject_nulls(changes, "name", "email_domains", "admins_may_create_groups")
    view = await get_account(session, subject, account_id)
    before: dict[str, Any] = {
        "name": account.name,
        "email_domains": view.email_domains,
        "default_rate_plan_id": account.default_rate_plan_id,
        "admins_may_create_groups": account.admins_may_create_groups,
    }
    if "name" in changes:
        normalized = normalize_account_name(changes["name"])
        if await repository.name_taken(session, account.operator_id, normalized, but=account.id):
            raise Conflict("An account with this name exists.", code="name_taken")
        account.name, account.name_normalized = changes["name"], normalized
    if "default_rate_plan_id" in changes:
        await _check_rate_plan(session, account.operator_id, changes["default_rate_plan_id"])
        account.default_rate_plan_id = changes["default_rate_plan_id"]
    if "admins_may_create_groups" in changes:
        account.admins_may_create_groups = changes["admins_may_create_groups"]
    domains = view.email_domains
    if "email_domains" in changes:
        domains = _normalized_domains(changes["email_domains"])
        await _set_domains(session, account, domains)
    await _flush_unique(session)
    after = {**before, **{k: v for k, v in changes.items() if k in EDITABLE}}
    after["email_domains"] = domains
    await record_change(
        session,
        subject.actor,
        "account.updated",
        target_type="account",
        target_id=account.id,
        operator_id=account.operator_id,
        account_id=account.id,
        before=before,
        after=after,
    )
    return AccountView(account=account, email_domains=domains)


async def list_members(
    session: AsyncSession,
    subject: AuthSubject,
    account_id: str,
    page: PageRequest,
    *,
    q: str | None = None,
    group_id: str | None = None,
) -> Page[UserListItem]:
    account = await visible_account(session, subject, account_id)
    stmt = repository.members_stmt(account.id, q=q, group_id=group_id)
    found = await paginate(session, stmt, User.id, page)
    return Page(items=await users.list_items(session, found.items), next_cursor=found.next_cursor)


async def _admin_target(session: AsyncSession, subject: AuthSubject, account_id: str) -> Account:
    account = await visible_account(session, subject, account_id)
    if not subject.is_operator_admin:
        raise NotPermitted("Only operator admins grant account-admin rights.")
    return account


async def add_admin(
    session: AsyncSession, subject: AuthSubject, account_id: str, user_id: str
) -> Grant:
    """R2: any user of the operator may administer an account (an agency, a fleet manager)."""
    account = await _admin_target(session, subject, account_id)
    user = await session.get(User, user_id)
    if user is None or user.operator_id != account.operator_id:
        raise InvalidInput("No such user.", code="unknown_user")
    existing = await session.execute(
        select(Grant.id).where(
            Grant.user_id == user.id, Grant.role == ACCOUNT_ADMIN, Grant.scope_id == account.id
        )
    )
    if existing.first() is not None:
        raise Conflict("This user administers the account already.", code="already_admin")
    grant = Grant(
        operator_id=account.operator_id,
        user_id=user.id,
        role=ACCOUNT_ADMIN,
        account_id=account.id,
        scope_id=account.id,
    )
    session.add(grant)
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict("This user administers the account already.", code="already_admin") from None
    await record_change(
        session,
        subject.actor,
        "grant.added",
        target_type="account",
        target_id=account.id,
        operator_id=account.operator_id,
        account_id=account.id,
        after={"user_id": user.id, "role": ACCOUNT_ADMIN},
    )
    return grant


async def remove_admin(
    session: AsyncSession, subject: AuthSubject, account_id: str, user_id: str
) -> None:
    account = await _admin_target(session, subject, account_id)
    grant = (
        await session.execute(
            select(Grant).where(
                Grant.user_id == user_id, Grant.role == ACCOUNT_ADMIN, Grant.scope_id == account.id
            )
        )
    ).scalar_one_or_none()
    if grant is None:
        raise NotFound("This user does not administer the account.")
    await session.delete(grant)
    await session.flush()
    await record_change(
        session,
        subject.actor,
        "grant.removed",
        target_type="account",
        target_id=account.id,
        operator_id=account.operator_id,
        account_id=account.id,
        before={"user_id": user_id, "role": ACCOUNT_ADMIN},
    )
