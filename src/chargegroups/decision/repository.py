"""Lookups the caller-checked decision needs, always inside one operator."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, and_, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.models import Charger, ChargerScope, GroupMembership

# Built once: POST /decisions runs one of these per request.
_CHARGER_BY_ID = select(Charger).where(
    Charger.operator_id == bindparam("operator_id"), Charger.id == bindparam("key")
)
_CHARGER_BY_CHARGE_POINT_ID = select(Charger).where(
    Charger.operator_id == bindparam("operator_id"), Charger.charge_point_id == bindparam("key")
)


async def find_charger(
    session: AsyncSession,
    operator_id: str,
    *,
    charger_id: str | None = None,
    charge_point_id: str | None = None,
) -> Charger | None:
    stmt = _CHARGER_BY_ID if charger_id is not None else _CHARGER_BY_CHARGE_POINT_ID
    key = charger_id if charger_id is not None else charge_point_id
    result = await session.execute(stmt, {"operator_id": operator_id, "key": key})
    return result.scalar_one_or_none()


def chargers_open_to(operator_id: str, user_id: str, at: datetime) -> Select[Charger]:
    """The operator's chargers a driver could use: public ones, and private ones whose scope
    holds one of the driver's current groups (D2, D5). Only a pre-filter that makes pages of
    candidates; each candidate is still decided by the rules."""
    current_groups = select(GroupMembership.group_id).where(
        GroupMembership.user_id == user_id,
        or_(GroupMembership.valid_until.is_(None), GroupMembership.valid_until > at),
    )
    in_scope = select(ChargerScope.charger_id).where(ChargerScope.group_id.in_(current_groups))
    return select(Charger).where(
        Charger.operator_id == operator_id,
        or_(
            Charger.access_mode == "public",
            and_(Charger.access_mode == "private", Charger.id.in_(in_scope)),
        ),
    )
