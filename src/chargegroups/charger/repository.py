"""Every query about chargers and their scope; the caller's reach lives in ``visible_to``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, select
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.auth.subject import AuthSubject
from chargegroups.models import Charger, ChargerScope, UserGroup


def visible_to(subject: AuthSubject) -> ColumnElement[bool]:
    """Operator admins: the operator's chargers; account admins: their accounts' chargers."""
    in_operator = Charger.operator_id == subject.operator_id
    if subject.is_operator_admin:
        return in_operator
    if not subject.admin_account_ids:
        return false()
    return and_(in_operator, Charger.account_id.in_(subject.admin_account_ids))


def chargers_stmt(subject: AuthSubject, *, account_id: str | None = None) -> Select[Any]:
    stmt = select(Charger).where(visible_to(subject))
    if account_id is not None:
        stmt = stmt.where(Charger.account_id == account_id)
    return stmt


async def find_visible(
    session: AsyncSession, subject: AuthSubject, charger_id: str
) -> Charger | None:
    stmt = select(Charger).where(Charger.id == charger_id, visible_to(subject))
    return (await session.execute(stmt)).scalar_one_or_none()


async def charge_point_id_taken(session: AsyncSession, charge_point_id: str) -> bool:
    stmt = select(Charger.id).where(Charger.charge_point_id == charge_point_id)
    return (await session.execute(stmt)).first() is not None


async def scope_groups(session: AsyncSession, charger_id: str) -> list[UserGroup]:
    stmt = (
        select(UserGroup)
        .join(ChargerScope, ChargerScope.group_id == UserGroup.id)
        .where(ChargerScope.charger_id == charger_id)
        .order_by(UserGroup.id)
    )
    return list((await session.execute(stmt)).scalars())


async def find_link(session: AsyncSession, charger_id: str, group_id: str) -> ChargerScope | None:
    return await session.get(ChargerScope, (charger_id, group_id))
