"""User groups and their memberships (PRODUCT.md §2)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.audit.service import record_change
from chargegroups.auth.subject import Actor
from chargegroups.models import GroupMembership, User, UserGroup


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
