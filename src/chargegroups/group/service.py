"""User groups and their memberships (PRODUCT.md §2): the rules and the permission model.

Other features reuse the permission helpers here rather than re-deciding a group's reach:
``visible_group`` (404 outside the caller's reach), ``manageable_group`` (403
``group_read_only`` for groups the caller sees but may not change) and ``is_read_only``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.audit.service import record_change
from chargegroups.auth.subject import Actor, AuthSubject
from chargegroups.charger.revocation import access_revoked
from chargegroups.errors import Conflict, InvalidInput, NotFound, NotPermitted, StaleVersion
from chargegroups.group import repository
from chargegroups.kit.clock import utcnow
from chargegroups.kit.ids import new_id
from chargegroups.kit.pagination import Page, PageRequest, paginate
from chargegroups.kit.patch import reject_nulls
from chargegroups.models import Account, GroupDiscount, GroupMembership, User, UserGroup
from chargegroups.models.group import GLOBAL_SCOPE_KEY, SCOPE_ACCOUNT, SCOPE_ALL_ACCOUNTS

PAYS_AT = ("all_chargers", "scoped_chargers")
MAX_BULK = 10_000
NAME_MAX = 120


@dataclass(frozen=True, slots=True)
class GroupView:
    """A group as one caller sees it."""

    group: UserGroup
    read_only: bool
    member_count: int


@dataclass(frozen=True, slots=True)
class MembersAdded:
    added_user_ids: list[str]
    already_member_ids: list[str]


@dataclass(frozen=True, slots=True)
class MemberView:
    membership: GroupMembership
    user: User
    expired: bool


def normalize_name(name: str) -> str:
    """G4: names compare case-insensitively and ignore repeated inner spaces."""
    normalized = " ".join(name.split()).casefold()
    if len(normalized) > NAME_MAX:  # case folding may lengthen a name ("ß" is "ss")
        raise InvalidInput(f"Names are at most {NAME_MAX} characters.", code="name_too_long")
    return normalized


# --- the permission model -------------------------------------------------------------------


def is_read_only(subject: AuthSubject, group: UserGroup) -> bool:
    """G6/G7: operator admins manage every group; account admins their accounts' groups."""
    if subject.is_operator_admin:
        return False
    return group.account_id is None or group.account_id not in subject.admin_account_ids


async def visible_group(
    session: AsyncSession, subject: AuthSubject, group_id: str, *, lock: bool = False
) -> UserGroup:
    """The group if ``subject`` may see it; NotFound otherwise (R3: nothing leaks)."""
    group = await repository.find_visible(session, subject, group_id, lock=lock)
    if group is None:
        raise NotFound("No such group.")
    return group


async def manageable_group(
    session: AsyncSession, subject: AuthSubject, group_id: str, *, lock: bool = False
) -> UserGroup:
    """The group if ``subject`` may manage its membership, scope links and (delegated)
    discounts; 404 if invisible, 403 ``group_read_only`` if only visible (G7)."""
    group = await visible_group(session, subject, group_id, lock=lock)
    if is_read_only(subject, group):
        raise NotPermitted(
            "This group is read-only for you: only operator admins change it.",
            code="group_read_only",
        )
    return group


async def _manual_membership_group(
    session: AsyncSession, subject: AuthSubject, group_id: str, *, lock: bool = False
) -> UserGroup:
    """A group whose members ``subject`` may change by hand: manageable, and not provisioned
    by an identity provider, which alone changes the members of its groups (A10)."""
    group = await manageable_group(session, subject, group_id, lock=lock)
    if group.managed_by_scim:
        raise Conflict(
            "This group's members come from the account's identity provider (SCIM);"
            " change them there.",
            code="group_managed_by_scim",
        )
    return group


async def _settings_group(session: AsyncSession, subject: AuthSubject, group_id: str) -> UserGroup:
    """G2: a group's settings (name, flags, owner, deletion) belong to operator admins."""
    group = await manageable_group(session, subject, group_id)
    if not subject.is_operator_admin:
        raise NotPermitted(
            "Only operator admins rename, delete or change the settings of a group.",
            code="operator_admin_only",
        )
    return group


# --- groups ---------------------------------------------------------------------------------


def snapshot(group: UserGroup) -> dict[str, Any]:
    return {
        "name": group.name,
        "description": group.description,
        "scope_kind": group.scope_kind,
        "account_id": group.account_id,
        "auto_assign": group.auto_assign,
        "financial_owner_id": group.financial_owner_id,
        "pays_at": group.pays_at,
        "version": group.version,
    }


async def _views(
    session: AsyncSession, subject: AuthSubject, groups: Sequence[UserGroup]
) -> list[GroupView]:
    counts = await repository.member_counts(session, [g.id for g in groups], utcnow())
    return [
        GroupView(group=g, read_only=is_read_only(subject, g), member_count=counts.get(g.id, 0))
        for g in groups
    ]


async def list_groups(
    session: AsyncSession,
    subject: AuthSubject,
    page: PageRequest,
    *,
    scope_kind: str | None = None,
    account_id: str | None = None,
) -> Page[GroupView]:
    stmt = repository.groups_stmt(subject, scope_kind=scope_kind, account_id=account_id)
    found = await paginate(session, stmt, UserGroup.id, page)
    return Page(items=await _views(session, subject, found.items), next_cursor=found.next_cursor)


async def get_group(session: AsyncSession, subject: AuthSubject, group_id: str) -> GroupView:
    group = await visible_group(session, subject, group_id)
    return (await _views(session, subject, [group]))[0]


def _check_auto_assign(scope_kind: str, auto_assign: bool) -> None:
    if auto_assign and scope_kind == SCOPE_ALL_ACCOUNTS:
        raise InvalidInput(
            "Auto-assign exists only on account-level groups (G8).", code="auto_assign_global"
        )


async def _check_financial_owner(
    session: AsyncSession, operator_id: str, account_id: str | None, owner_id: str | None
) -> None:
    """G5/D7: an account-level group's owner is a member of its account; a global group's
    owner any user of the operator. Unknown and foreign ids answer alike."""
    if owner_id is None:
        return
    owner = await session.get(User, owner_id)
    if (
        owner is None
        or owner.operator_id != operator_id
        or (account_id is not None and owner.account_id != account_id)
    ):
        raise InvalidInput(
            "The financial owner must be a member of the group's account"
            " (any user of the operator for a global group).",
            code="invalid_financial_owner",
        )


async def _flush_unique_name(session: AsyncSession) -> None:
    try:
        await session.flush()
    except IntegrityError:
        # Two admins raced for the same name: the database kept the first (G4).
        raise Conflict("A group with this name exists in this scope.", code="name_taken") from None


async def create_group(
    session: AsyncSession,
    subject: AuthSubject,
    *,
    name: str,
    description: str = "",
    account_id: str | None,
    auto_assign: bool = False,
    financial_owner_id: str | None = None,
    pays_at: str = "all_chargers",
) -> GroupView:
    """G1/G2: a global group (``account_id`` None) or an account-level group."""
    if account_id is None:
        if not subject.is_operator_admin:
            raise NotPermitted("Only operator admins create global groups.", code="not_permitted")
    else:
        account = await session.get(Account, account_id)
        if (
            account is None
            or account.operator_id != subject.operator_id
            or not subject.manages_account(account_id)
        ):
            raise NotFound("No such account.")
        if not subject.is_operator_admin and not account.admins_may_create_groups:
            raise NotPermitted(
                "The operator has not let this account's admins create groups (G2).",
                code="group_creation_not_delegated",
            )
    scope_kind = SCOPE_ALL_ACCOUNTS if account_id is None else SCOPE_ACCOUNT
    _check_auto_assign(scope_kind, auto_assign)
    await _check_financial_owner(session, subject.operator_id, account_id, financial_owner_id)
    scope_key = account_id or GLOBAL_SCOPE_KEY
    normalized = normalize_name(name)
    if await repository.name_taken(session, subject.operator_id, scope_key, normalized):
        raise Conflict("A group with this name exists in this scope.", code="name_taken")
    group = UserGroup(
        operator_id=subject.operator_id,
        name=name,
        name_normalized=normalized,
        description=description,
        scope_kind=scope_kind,
        account_id=account_id,
        scope_key=scope_key,
        auto_assign=auto_assign,
        financial_owner_id=financial_owner_id,
        pays_at=pays_at,
        created_by_id=subject.user_id,
    )
    session.add(group)
    await _flush_unique_name(session)
    await record_change(
        session,
        subject.actor,
        "group.created",
        target_type="group",
        target_id=group.id,
        operator_id=group.operator_id,
        account_id=group.account_id,
        after=snapshot(group),
    )
    return GroupView(group=group, read_only=False, member_count=0)


def check_version(group: UserGroup, if_match: int | None) -> None:
    if if_match is not None and if_match != group.version:
        raise StaleVersion(
            f"The group changed since version {if_match} (now {group.version}); reload it.",
            code="stale_version",
        )


async def update_group(
    session: AsyncSession,
    subject: AuthSubject,
    group_id: str,
    changes: dict[str, Any],
    *,
    if_match: int | None = None,
) -> GroupView:
    """``changes``: name, description, auto_assign, financial_owner_id, pays_at, and the
    current scope (``{"account_id": ...}``) which may be restated but never changed (G3)."""
    group = await _settings_group(session, subject, group_id)
    check_version(group, if_match)
    if "scope" in changes and changes.pop("scope") != {"account_id": group.account_id}:
        raise Conflict(
            "A group's scope cannot change (G3); create a new group with the scope you need.",
            code="scope_immutable",
        )
    reject_nulls(changes, "name", "description", "auto_assign", "pays_at")
    _check_auto_assign(group.scope_kind, bool(changes.get("auto_assign", False)))
    if "financial_owner_id" in changes:
        await _check_financial_owner(
            session, group.operator_id, group.account_id, changes["financial_owner_id"]
        )
    if "name" in changes:
        normalized = normalize_name(changes["name"])
        if await repository.name_taken(
            session, group.operator_id, group.scope_key, normalized, but=group.id
        ):
            raise Conflict("A group with this name exists in this scope.", code="name_taken")
        group.name_normalized = normalized
    before = snapshot(group)
    for key in ("name", "description", "auto_assign", "financial_owner_id", "pays_at"):
        if key in changes:
            setattr(group, key, changes[key])
    await _flush_unique_name(session)
    await record_change(
        session,
        subject.actor,
        "group.updated",
        target_type="group",
        target_id=group.id,
        operator_id=group.operator_id,
        account_id=group.account_id,
        before=before,
        after=snapshot(group),
    )
    return (await _views(session, subject, [group]))[0]


async def delete_group(
    session: AsyncSession, subject: AuthSubject, group_id: str, *, if_match: int | None = None
) -> None:
    """G11: the group, its memberships, scope links and discounts go in one transaction
    (foreign-key cascades); the audit event keeps what was there."""
    group = await _settings_group(session, subject, group_id)
    check_version(group, if_match)
    await _delete(session, subject.actor, group)


async def _delete(session: AsyncSession, actor: Actor, group: UserGroup) -> None:
    group_id = group.id
    charger_ids = await repository.scope_charger_ids(session, group.id)
    discounts = (
        await session.execute(select(GroupDiscount).where(GroupDiscount.group_id == group.id))
    ).scalars()
    before = {
        **snapshot(group),
        "member_count": (await repository.member_counts(session, [group.id], utcnow())).get(
            group.id, 0
        ),
        "scope_charger_ids": charger_ids,
        "discounts": [
            {"rate_plan_id": d.rate_plan_id, "percent": str(d.percent), "free": d.free}
            for d in discounts
        ],
    }
    await session.execute(delete(UserGroup).where(UserGroup.id == group.id))
    session.expunge(group)
    await record_change(
        session,
        actor,
        "group.deleted",
        target_type="group",
        target_id=group_id,
        operator_id=group.operator_id,
        account_id=group.account_id,
        before=before,
    )
    if charger_ids:
        access_revoked(session, operator_id=group.operator_id, charger_ids=charger_ids)


# --- memberships ----------------------------------------------------------------------------


async def list_members(
    session: AsyncSession, subject: AuthSubject, group_id: str, page: PageRequest
) -> Page[MemberView]:
    group = await visible_group(session, subject, group_id)
    if is_read_only(subject, group) and not subject.is_admin:
        # Drivers see their own groups, not who else is in them.
        raise NotPermitted("Only admins list a group's members.", code="not_permitted")
    stmt = select(GroupMembership).where(GroupMembership.group_id == group.id)
    if is_read_only(subject, group):
        # Account admins see a global group's members of their own accounts only.
        stmt = stmt.where(
            GroupMembership.user_id.in_(
                select(User.id).where(User.account_id.in_(subject.admin_account_ids))
            )
        )
    found = await paginate(session, stmt, GroupMembership.user_id, page)
    users = await repository.users_by_id(session, [m.user_id for m in found.items])
    now = utcnow()
    return Page(
        items=[
            MemberView(
                membership=m,
                user=users[m.user_id],
                expired=m.valid_until is not None and m.valid_until <= now,
            )
            for m in found.items
        ],
        next_cursor=found.next_cursor,
    )


def _dedupe(ids: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(ids))


async def _insert_memberships(
    session: AsyncSession,
    group: UserGroup,
    user_ids: Sequence[str],
    *,
    source: str,
    actor: Actor,
    valid_until: datetime | None,
) -> None:
    now = utcnow()
    rows = [
        {
            "id": new_id(),
            "operator_id": group.operator_id,
            "group_id": group.id,
            "user_id": user_id,
            "source": source,
            "added_by_id": actor.id,
            "valid_until": valid_until,
            "created_at": now,
        }
        for user_id in user_ids
    ]
    try:
        for part in repository.chunks(rows):
            await session.execute(insert(GroupMembership), list(part))
    except IntegrityError:
        # A parallel request added one of these users or deleted the group meanwhile.
        raise Conflict(
            "The group changed while adding members; retry.", code="concurrent_change"
        ) from None


async def add_members(
    session: AsyncSession,
    subject: AuthSubject,
    group_id: str,
    user_ids: Sequence[str],
    *,
    valid_until: datetime | None = None,
    source: str = "manual",
) -> MembersAdded:
    """Bulk add, all or nothing (G5, G6, G12): any id that may not join (unknown, another
    operator's, another account's — indistinguishable, R3) fails the whole call with 422."""
    wanted = _dedupe(user_ids)
    if len(wanted) > MAX_BULK:
        raise InvalidInput(f"At most {MAX_BULK} user ids per call.", code="too_many_user_ids")
    group = await _manual_membership_group(session, subject, group_id, lock=True)
    eligible = await repository.eligible_user_ids(session, group, wanted)
    bad = [user_id for user_id in wanted if user_id not in eligible]
    if bad:
        raise InvalidInput(
            "These users cannot join this group (unknown, or not members of its account);"
            " nothing was added.",
            code="invalid_user_ids",
            invalid_user_ids=bad,
        )
    existing = await repository.existing_member_ids(session, group.id, wanted)
    new = [user_id for user_id in wanted if user_id not in existing]
    await _insert_memberships(
        session, group, new, source=source, actor=subject.actor, valid_until=valid_until
    )
    if new:
        await record_change(
            session,
            subject.actor,
            "membership.added",
            target_type="group",
            target_id=group.id,
            operator_id=group.operator_id,
            account_id=group.account_id,
            after={
                "user_ids": new,
                "source": source,
                "valid_until": valid_until.isoformat() if valid_until else None,
            },
        )
    return MembersAdded(added_user_ids=new, already_member_ids=[u for u in wanted if u in existing])


async def add_all_account_members(
    session: AsyncSession, subject: AuthSubject, group_id: str
) -> MembersAdded:
    """G8's explicit back-fill: every current member of the group's account joins it."""
    group = await _manual_membership_group(session, subject, group_id, lock=True)
    if group.account_id is None:
        raise InvalidInput(
            "Only an account-level group can take all members of its account.",
            code="not_account_group",
        )
    new = await repository.account_user_ids_not_in(session, group)
    await _insert_memberships(
        session, group, new, source="auto_assign", actor=subject.actor, valid_until=None
    )
    if new:
        await record_change(
            session,
            subject.actor,
            "membership.added",
            target_type="group",
            target_id=group.id,
            operator_id=group.operator_id,
            account_id=group.account_id,
            after={"user_ids": new, "source": "auto_assign", "valid_until": None},
        )
    return MembersAdded(added_user_ids=new, already_member_ids=[])


async def remove_member(
    session: AsyncSession, subject: AuthSubject, group_id: str, user_id: str
) -> None:
    group = await _manual_membership_group(session, subject, group_id)
    membership = await repository.find_membership(session, group.id, user_id)
    if membership is None:
        raise NotFound("This user is not a member of the group.")
    await _delete_memberships(session, subject.actor, group, [membership])


async def _delete_memberships(
    session: AsyncSession, actor: Actor, group: UserGroup, memberships: Sequence[GroupMembership]
) -> None:
    """Each removal audited; the chargers whose scope holds the group forget what they cached."""
    for membership in memberships:
        await session.delete(membership)
        await record_change(
            session,
            actor,
            "membership.removed",
            target_type="group",
            target_id=group.id,
            operator_id=group.operator_id,
            account_id=group.account_id,
            before={
                "user_id": membership.user_id,
                "source": membership.source,
                "added_by_id": membership.added_by_id,
                "valid_until": (
                    membership.valid_until.isoformat() if membership.valid_until else None
                ),
                "created_at": membership.created_at.isoformat(),
            },
        )
    await session.flush()
    charger_ids = await repository.scope_charger_ids(session, group.id)
    if charger_ids:
        access_revoked(session, operator_id=group.operator_id, charger_ids=charger_ids)


async def auto_assign(
    session: AsyncSession, user: User, *, source: str, actor: Actor
) -> list[UserGroup]:
    """G8: a user who just became a member of an account joins its auto-assign groups.

    Every way of joining calls this (invitation, join link, verified domain, transfer, SCIM,
    import); ``source`` records that way on each membership. Returns the groups joined.
    """
    groups = list(
        (
            await session.execute(
                select(UserGroup)
                .where(
                    UserGroup.account_id == user.account_id,
                    UserGroup.auto_assign.is_(True),
                    UserGroup.id.not_in(
                        select(GroupMembership.group_id).where(GroupMembership.user_id == user.id)
                    ),
                )
                .order_by(UserGroup.id)
            )
        ).scalars()
    )
    for group in groups:
        session.add(
            GroupMembership(
                operator_id=user.operator_id,
                group_id=group.id,
                user_id=user.id,
                source=source,
                added_by_id=actor.id,
            )
        )
        await record_change(
            session,
            actor,
            "membership.added",
            target_type="group",
            target_id=group.id,
            operator_id=user.operator_id,
            account_id=group.account_id,
            after={"user_id": user.id, "source": source, "auto_assign": True},
        )
    await session.flush()
    return groups


# --- groups of an account's identity provider (A10) -----------------------------------------


def _provisioned(group: UserGroup) -> UserGroup:
    """The identity provider changes the groups it made, never the account's other groups."""
    if not group.managed_by_scim:
        raise NotPermitted(
            "This group was not provisioned over SCIM: its admins manage it.",
            code="group_not_managed_by_scim",
        )
    return group


async def create_provisioned_group(
    session: AsyncSession, actor: Actor, account: Account, *, name: str, external_id: str | None
) -> UserGroup:
    """An account-level group of ``account`` whose members its identity provider keeps; its
    discounts, charger scope and financial owner stay with the account's admins."""
    normalized = normalize_name(name)
    if await repository.name_taken(session, account.operator_id, account.id, normalized):
        raise Conflict("A group with this name exists in this scope.", code="name_taken")
    group = UserGroup(
        operator_id=account.operator_id,
        name=name,
        name_normalized=normalized,
        scope_kind=SCOPE_ACCOUNT,
        account_id=account.id,
        scope_key=account.id,
        managed_by_scim=True,
        external_id=external_id,
    )
    session.add(group)
    await _flush_unique_name(session)
    await record_change(
        session,
        actor,
        "group.created",
        target_type="group",
        target_id=group.id,
        operator_id=group.operator_id,
        account_id=group.account_id,
        after={**snapshot(group), "managed_by_scim": True, "external_id": external_id},
    )
    return group


async def change_provisioned_group(
    session: AsyncSession, actor: Actor, group: UserGroup, *, name: str, external_id: str | None
) -> None:
    _provisioned(group)
    if (name, external_id) == (group.name, group.external_id):
        return
    normalized = normalize_name(name)
    if await repository.name_taken(
        session, group.operator_id, group.scope_key, normalized, but=group.id
    ):
        raise Conflict("A group with this name exists in this scope.", code="name_taken")
    before = {**snapshot(group), "external_id": group.external_id}
    group.name, group.name_normalized, group.external_id = name, normalized, external_id
    await _flush_unique_name(session)
    await record_change(
        session,
        actor,
        "group.updated",
        target_type="group",
        target_id=group.id,
        operator_id=group.operator_id,
        account_id=group.account_id,
        before=before,
        after={**snapshot(group), "external_id": external_id},
    )


async def delete_provisioned_group(session: AsyncSession, actor: Actor, group: UserGroup) -> None:
    await _delete(session, actor, _provisioned(group))


async def set_provisioned_members(
    session: AsyncSession, actor: Actor, group: UserGroup, user_ids: Sequence[str]
) -> None:
    """The group's members become exactly ``user_ids`` (members of its account, else 422):
    the newcomers join with source ``scim``, the others leave."""
    _provisioned(group)
    wanted = _dedupe(user_ids)
    if len(wanted) > MAX_BULK:
        raise InvalidInput(f"At most {MAX_BULK} members per group.", code="too_many_user_ids")
    eligible = await repository.eligible_user_ids(session, group, wanted)
    bad = [user_id for user_id in wanted if user_id not in eligible]
    if bad:
        raise InvalidInput(
            "These users are not members of the group's account; nothing was changed.",
            code="invalid_user_ids",
            invalid_user_ids=bad,
        )
    current = await repository.memberships_of(session, group.id)
    leaving = [m for m in current if m.user_id not in set(wanted)]
    present = {m.user_id for m in current}
    joining = [user_id for user_id in wanted if user_id not in present]
    if not leaving and not joining:
        return
    if leaving:
        await _delete_memberships(session, actor, group, leaving)
    if joining:
        await _insert_memberships(
            session, group, joining, source="scim", actor=actor, valid_until=None
        )
        await record_change(
            session,
            actor,
            "membership.added",
            target_type="group",
            target_id=group.id,
            operator_id=group.operator_id,
            account_id=group.account_id,
            after={"user_ids": joining, "source": "scim", "valid_until": None},
        )
    # Its members are part of the SCIM resource: meta.lastModified and the ETag move.
    group.updated_at = utcnow()
    await session.flush()
