"""SCIM provisioning tokens (A10) and the caller they make.

A token belongs to one account: everything a SCIM request sees or changes is that account's
members and account-level groups. Operator admins and the account's admins manage its tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.account.service import visible_account
from chargegroups.audit.service import record_change
from chargegroups.auth.subject import Actor, AuthSubject
from chargegroups.errors import InvalidInput, NotFound, Unauthenticated
from chargegroups.group import service as groups
from chargegroups.kit.clock import utcnow
from chargegroups.kit.secrets import hash_token, new_token
from chargegroups.models import Account, ScimToken, User, UserGroup
from chargegroups.onboarding import service as onboarding
from chargegroups.scim import repository
from chargegroups.user import service as users
from chargegroups.user.rules import normalize_email

TOKEN_PREFIX = "cg_scim"  # noqa: S105 (a prefix that tells what a token is for)


@dataclass(frozen=True, slots=True)
class Provisioner:
    """The caller of a SCIM request: an account's identity provider, known by its token."""

    token_id: str
    operator_id: str
    account_id: str

    @property
    def actor(self) -> Actor:
        return Actor(kind="scim", id=self.token_id)


@dataclass(frozen=True, slots=True)
class ScimTokenView:
    record: ScimToken
    created_by_name: str | None


@dataclass(frozen=True, slots=True)
class IssuedScimToken:
    """A freshly made token: the only moment its clear text exists."""

    token: str
    view: ScimTokenView


async def create_token(
    session: AsyncSession, subject: AuthSubject, account_id: str, *, name: str
) -> IssuedScimToken:
    account = await visible_account(session, subject, account_id)
    token = new_token(TOKEN_PREFIX)
    record = ScimToken(
        operator_id=account.operator_id,
        account_id=account.id,
        token_hash=hash_token(token),
        name=name,
        created_by_id=subject.user_id,
    )
    session.add(record)
    await session.flush()
    await record_change(
        session,
        subject.actor,
        "scim_token.created",
        target_type="scim_token",
        target_id=record.id,
        operator_id=account.operator_id,
        account_id=account.id,
        after={"name": name},
    )
    creator = await session.get(User, subject.user_id)
    view = ScimTokenView(record=record, created_by_name=creator.name if creator else None)
    return IssuedScimToken(token=token, view=view)


async def list_tokens(
    session: AsyncSession, subject: AuthSubject, account_id: str
) -> list[ScimTokenView]:
    account = await visible_account(session, subject, account_id)
    return [
        ScimTokenView(record=token, created_by_name=name)
        for token, name in await repository.live_tokens_of(session, account.id)
    ]


async def revoke_token(
    session: AsyncSession, subject: AuthSubject, account_id: str, token_id: str
) -> None:
    """At once: the next request with it is refused (tokens are looked up on every request)."""
    account = await visible_account(session, subject, account_id)
    record = await repository.token_of(session, account.id, token_id)
    if record is None or record.revoked_at is not None:
        raise NotFound("No such SCIM token.")
    record.revoked_at = utcnow()
    await session.flush()
    await record_change(
        session,
        subject.actor,
        "scim_token.revoked",
        target_type="scim_token",
        target_id=record.id,
        operator_id=account.operator_id,
        account_id=account.id,
        before={"name": record.name},
    )


async def authenticate(session: AsyncSession, token: str) -> Provisioner:
    record = await repository.live_token(session, hash_token(token))
    if record is None:
        raise Unauthenticated("Missing or revoked SCIM token.")
    await repository.mark_used(session, record.id, utcnow())
    return Provisioner(
        token_id=record.id, operator_id=record.operator_id, account_id=record.account_id
    )


# --- the token's account's members (Users) ------------------------------------------------


async def find_user(session: AsyncSession, caller: Provisioner, user_id: str) -> User:
    """A member of the token's account; anyone else is not found (R3)."""
    user = await repository.account_user(session, caller.account_id, user_id)
    if user is None:
        raise NotFound("No such user.")
    return user


async def list_users(
    session: AsyncSession,
    caller: Provisioner,
    condition: ColumnElement[bool] | None,
    *,
    offset: int,
    count: int,
) -> tuple[int, list[User]]:
    stmt = repository.users_stmt(caller.account_id, condition)
    return await repository.page(session, stmt, User.id, offset=offset, count=count)


async def groups_of(
    session: AsyncSession, caller: Provisioner, user_ids: Sequence[str]
) -> dict[str, list[tuple[str, str]]]:
    return await repository.groups_of_users(session, caller.account_id, user_ids)


async def create_user(
    session: AsyncSession,
    caller: Provisioner,
    *,
    address: str,
    name: str,
    external_id: str | None,
    active: bool,
) -> User:
    account = await session.get_one(Account, caller.account_id)
    user = await onboarding.provision_member(
        session, caller.actor, account, address=address, name=name, external_id=external_id
    )
    if not active:
        await users.change_user(session, caller.actor, user, {"blocked": True})
    return user


async def update_user(
    session: AsyncSession,
    caller: Provisioner,
    user: User,
    *,
    address: str,
    name: str,
    external_id: str | None,
    active: bool,
) -> None:
    """Rename, relabel, deactivate (blocks the user and its tokens at once) or reactivate."""
    if normalize_email(address) != user.email_normalized:
        raise InvalidInput(
            "A member's address (userName) cannot change over SCIM.", code="email_immutable"
        )
    wanted: dict[str, Any] = {"name": name, "external_id": external_id, "blocked": not active}
    changes = {key: value for key, value in wanted.items() if getattr(user, key) != value}
    if changes:
        await users.change_user(session, caller.actor, user, changes)


async def delete_user(session: AsyncSession, caller: Provisioner, user: User) -> None:
    """A6: the member moves to the default account; its history and sessions stay."""
    account = await session.get_one(Account, caller.account_id)
    await onboarding.leave_account(session, caller.actor, account, user)


# --- the token's account's account-level groups (Groups) ----------------------------------


async def find_group(session: AsyncSession, caller: Provisioner, group_id: str) -> UserGroup:
    group = await repository.account_group(session, caller.account_id, group_id)
    if group is None:
        raise NotFound("No such group.")
    return group


async def list_groups(
    session: AsyncSession,
    caller: Provisioner,
    condition: ColumnElement[bool] | None,
    *,
    offset: int,
    count: int,
) -> tuple[int, list[UserGroup]]:
    stmt = repository.groups_stmt(caller.account_id, condition)
    return await repository.page(session, stmt, UserGroup.id, offset=offset, count=count)


async def members_of(session: AsyncSession, group_ids: Sequence[str]) -> dict[str, list[str]]:
    return await repository.members_of(session, group_ids)


async def create_group(
    session: AsyncSession,
    caller: Provisioner,
    *,
    name: str,
    external_id: str | None,
    member_ids: Sequence[str],
) -> UserGroup:
    account = await session.get_one(Account, caller.account_id)
    group = await groups.create_provisioned_group(
        session, caller.actor, account, name=name, external_id=external_id
    )
    if member_ids:
        await groups.set_provisioned_members(session, caller.actor, group, member_ids)
    return group


async def update_group(
    session: AsyncSession,
    caller: Provisioner,
    group: UserGroup,
    *,
    name: str,
    external_id: str | None,
    member_ids: Sequence[str],
) -> None:
    await groups.change_provisioned_group(
        session, caller.actor, group, name=name, external_id=external_id
    )
    await groups.set_provisioned_members(session, caller.actor, group, member_ids)


async def delete_group(session: AsyncSession, caller: Provisioner, group: UserGroup) -> None:
    await groups.delete_provisioned_group(session, caller.actor, group)
