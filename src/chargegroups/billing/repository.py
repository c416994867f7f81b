"""Every billing query. Reach (R3) lives in one helper: ``statements_in_reach``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from chargegroups.auth.subject import AuthSubject
from chargegroups.errors import NotFound
from chargegroups.models import Charger, ChargingSession, Statement, User, UserGroup


def statements_in_reach(subject: AuthSubject) -> Select[Statement]:
    """Statements the caller may read: operator admins all of their operator's; account admins
    those of payers who are members of their accounts; everyone those it pays itself."""
    stmt = select(Statement).where(Statement.operator_id == subject.operator_id)
    if subject.is_operator_admin:
        return stmt
    payer_of_my_accounts = Statement.payer_user_id.in_(
        select(User.id).where(User.account_id.in_(subject.admin_account_ids))
    )
    return stmt.where((Statement.payer_user_id == subject.user_id) | payer_of_my_accounts)


async def get_statement_in_reach(
    session: AsyncSession, subject: AuthSubject, statement_id: str
) -> Statement:
    found = (
        await session.execute(statements_in_reach(subject).where(Statement.id == statement_id))
    ).scalar_one_or_none()
    if found is None:
        raise NotFound("No such statement.")
    return found


async def find_statement_for_update(
    session: AsyncSession, payer_user_id: str, period_start: datetime, currency: str
) -> Statement | None:
    """The payer's statement for a period and currency, row-locked (PostgreSQL) so a concurrent
    close or a second session waits for this transaction."""
    return (
        await session.execute(
            select(Statement)
            .where(
                Statement.payer_user_id == payer_user_id,
                Statement.period_start == period_start,
                Statement.currency == currency,
            )
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()


async def insert_statement_unless_present(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Insert a statement unless its payer already has one for the period and currency; True
    when this call made it. A concurrent creator wins cleanly instead of raising, and no
    savepoint is needed (on SQLite a savepoint opening the transaction would commit early)."""
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else postgresql_insert
    stmt = (
        insert(Statement)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["payer_user_id", "period_start", "currency"])
    )
    result = await session.execute(stmt)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def lock_statement(session: AsyncSession, statement_id: str) -> Statement:
    return (
        await session.execute(
            select(Statement)
            .where(Statement.id == statement_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one()


async def open_statements_of_period(
    session: AsyncSession, operator_id: str, period_start: datetime
) -> list[Statement]:
    return list(
        (
            await session.execute(
                select(Statement)
                .where(
                    Statement.operator_id == operator_id,
                    Statement.period_start == period_start,
                    Statement.status == "open",
                )
                .order_by(Statement.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        ).scalars()
    )


_RowSelect = Select[ChargingSession, str, str, str, str, str]


@dataclass(frozen=True, slots=True)
class SessionRow:
    """A session with the names a statement shows next to it."""

    session: ChargingSession
    charge_point_id: str
    charger_name: str
    driver_name: str | None
    deciding_group_name: str | None
    payer_group_name: str | None


def _session_rows() -> _RowSelect:
    deciding = aliased(UserGroup)
    paying = aliased(UserGroup)
    return (
        select(
            ChargingSession,
            Charger.charge_point_id,
            Charger.name,
            User.name,
            deciding.name,
            paying.name,
        )
        .join(Charger, Charger.id == ChargingSession.charger_id)
        .outerjoin(User, User.id == ChargingSession.user_id)
        .outerjoin(deciding, deciding.id == ChargingSession.deciding_group_id)
        .outerjoin(paying, paying.id == ChargingSession.payer_group_id)
    )


async def _fetch(
    session: AsyncSession,
    stmt: _RowSelect,
) -> list[SessionRow]:
    return [SessionRow(*row) for row in await session.execute(stmt)]


async def statement_sessions(session: AsyncSession, statement_id: str) -> list[SessionRow]:
    stmt = (
        _session_rows()
        .where(ChargingSession.statement_id == statement_id)
        .order_by(ChargingSession.stopped_at, ChargingSession.id)
    )
    return await _fetch(session, stmt)


async def sessions_of_driver(
    session: AsyncSession, subject: AuthSubject, *, after: str | None, limit: int
) -> list[SessionRow]:
    """The caller's own completed sessions, newest first (keyset on the time-ordered id)."""
    stmt = _session_rows().where(
        ChargingSession.operator_id == subject.operator_id,
        ChargingSession.user_id == subject.user_id,
        ChargingSession.status == "completed",
    )
    if after is not None:
        stmt = stmt.where(ChargingSession.id < after)
    stmt = stmt.order_by(ChargingSession.id.desc()).limit(limit)
    return await _fetch(session, stmt)


async def payer_account_id(session: AsyncSession, payer_user_id: str) -> str:
    return (
        await session.execute(select(User.account_id).where(User.id == payer_user_id))
    ).scalar_one()


async def user_name(session: AsyncSession, user_id: str) -> str:
    return (await session.execute(select(User.name).where(User.id == user_id))).scalar_one()
