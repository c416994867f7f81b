"""Choices for the console's pickers, read through the same services as the API lists."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.account import service as accounts
from chargegroups.auth.subject import AuthSubject
from chargegroups.kit.pagination import MAX_LIMIT, PageRequest

Choice = tuple[str, str]  # (value, label)


async def account_choices(session: AsyncSession, subject: AuthSubject) -> list[Choice]:
    """The accounts this viewer administers (every account for an operator admin)."""
    if not subject.is_admin:
        return []
    page = await accounts.list_accounts(session, subject, PageRequest(limit=MAX_LIMIT))
    return sorted(((v.account.id, v.account.name) for v in page.items), key=lambda c: c[1])


async def member_choices(
    session: AsyncSession, subject: AuthSubject, account_id: str, *, q: str | None = None
) -> list[Choice]:
    """An account's members as "Name <email>" (one page: pickers narrow with ``q``)."""
    page = await accounts.list_members(
        session, subject, account_id, PageRequest(limit=MAX_LIMIT), q=q
    )
    return [(i.user.id, f"{i.user.name} <{i.user.email}>") for i in page.items]


async def owner_choices(
    session: AsyncSession, subject: AuthSubject, account_id: str | None
) -> list[Choice]:
    """Financial-owner candidates: the account's members for an account-level group; for a
    global group any user of the operator (the first page of each account, up to one page)."""
    if account_id:
        return await member_choices(session, subject, account_id)
    found: list[Choice] = []
    for acc_id, acc_name in await account_choices(session, subject):
        if len(found) >= MAX_LIMIT:
            break
        found.extend(
            (uid, f"{label} · {acc_name}")
            for uid, label in await member_choices(session, subject, acc_id)
        )
    return found[:MAX_LIMIT]
