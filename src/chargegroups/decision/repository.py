"""Lookups the caller-checked decision needs, always inside one operator."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, and_, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.decision.loader import normalize_token_uid
from chargegroups.models import Charger, ChargerScope, DriverToken, GroupMembership, User

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


async def token_owner(
    session: AsyncSession, operator_id: str, token_uid: str
) -> tuple[str, str] | None:
    """(user id, account id) of the token's holder."""
    stmt = (
        select(User.id, User.account_id)
        .join(DriverToken, DriverToken.user_id == User.id)
        .where(
            DriverToken.operator_id == operator_id,
            DriverToken.uid_normalized == normalize_token_uid(token_uid),
        )
    )
    row = (await session.execute(stmt)).one_or_none()
    return None if row is None else (row[0], row[1])


async def user_account(session: AsyncSession, operator_id: str, user_id: str) -> str | None:
    stmt = select(User.account_id).where(User.id == user_id, User.operator_id == operator_id)
    return (await session.execute(stmt)).scalar_one_or_none()


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
