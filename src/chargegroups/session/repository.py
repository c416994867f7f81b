"""Queries for charging sessions; reach (R3) is decided in one helper."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.auth.subject import AuthSubject
from chargegroups.decision.loader import normalize_token_uid
from chargegroups.models import Charger, ChargingSession, User

UNFINISHED = ("active",)


def visible_to(subject: AuthSubject) -> ColumnElement[bool]:
    """Sessions the caller may read: all of the operator's for operator admins; for account
    admins those at its accounts' chargers or by its accounts' members; for everyone their own
    sessions and the ones they pay as a group's financial owner."""
    own = or_(
        ChargingSession.user_id == subject.user_id,
        ChargingSession.payer_user_id == subject.user_id,
    )
    if subject.is_operator_admin:
        reach: ColumnElement[bool] = ChargingSession.operator_id == subject.operator_id
        return reach
    if not subject.admin_account_ids:
        return (ChargingSession.operator_id == subject.operator_id) & own
    accounts = subject.admin_account_ids
    members = select(User.id).where(
        User.operator_id == subject.operator_id, User.account_id.in_(accounts)
    )
    return (ChargingSession.operator_id == subject.operator_id) & or_(
        own,
        ChargingSession.account_id.in_(accounts),
        ChargingSession.user_id.in_(members),
    )


def list_statement(subject: AuthSubject) -> Select[Any]:
    return select(ChargingSession).where(visible_to(subject))


async def get_visible(
    session: AsyncSession, subject: AuthSubject, session_id: str
) -> ChargingSession | None:
    stmt = select(ChargingSession).where(ChargingSession.id == session_id, visible_to(subject))
    return (await session.execute(stmt)).scalar_one_or_none()


async def charge_point_ids(session: AsyncSession, charger_ids: set[str]) -> dict[str, str]:
    if not charger_ids:
        return {}
    rows = await session.execute(
        select(Charger.id, Charger.charge_point_id).where(Charger.id.in_(charger_ids))
    )
    return {charger_id: cp_id for charger_id, cp_id in rows.all()}


async def by_transaction(
    session: AsyncSession, charger_id: str, transaction_id: str, *, for_update: bool = False
) -> ChargingSession | None:
    stmt = select(ChargingSession).where(
        ChargingSession.charger_id == charger_id,
        ChargingSession.transaction_id == transaction_id,
    )
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def same_start(
    session: AsyncSession,
    *,
    charger_id: str,
    evse_id: int,
    token_uid: str,
    started_at: Any,
    meter_start_wh: int,
) -> ChargingSession | None:
    """A start the charger already reported (a replayed 1.6 StartTransaction carries no id)."""
    stmt = select(ChargingSession).where(
        ChargingSession.charger_id == charger_id,
        ChargingSession.evse_id == evse_id,
        ChargingSession.token_uid == token_uid,
        ChargingSession.started_at == started_at,
        ChargingSession.meter_start_wh == meter_start_wh,
    )
    return (await session.execute(stmt.limit(1))).scalar_one_or_none()


async def transaction_count(session: AsyncSession, charger_id: str) -> int:
    stmt = select(func.count()).where(ChargingSession.charger_id == charger_id)
    return int((await session.execute(stmt)).scalar_one())


async def _unfinished(
    session: AsyncSession, *where: ColumnElement[bool], for_update: bool
) -> Sequence[ChargingSession]:
    stmt = select(ChargingSession).where(ChargingSession.status.in_(UNFINISHED), *where)
    if for_update:
        stmt = stmt.with_for_update()
    return list((await session.execute(stmt.order_by(ChargingSession.started_at))).scalars())


async def unfinished_at_evse(
    session: AsyncSession, charger_id: str, evse_id: int, *, for_update: bool = False
) -> Sequence[ChargingSession]:
    return await _unfinished(
        session,
        ChargingSession.charger_id == charger_id,
        ChargingSession.evse_id == evse_id,
        for_update=for_update,
    )


async def unfinished_of_charger(
    session: AsyncSession, charger_id: str, *, for_update: bool = False
) -> Sequence[ChargingSession]:
    return await _unfinished(
        session, ChargingSession.charger_id == charger_id, for_update=for_update
    )


async def unfinished_of_token(
    session: AsyncSession, operator_id: str, token_uid: str, *, for_update: bool = False
) -> Sequence[ChargingSession]:
    """A token's unfinished sessions on the operator's network (uids compare case-blind)."""
    return await _unfinished(
        session,
        ChargingSession.operator_id == operator_id,
        func.lower(ChargingSession.token_uid) == normalize_token_uid(token_uid),
        for_update=for_update,
    )
