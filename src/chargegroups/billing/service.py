"""Statements (B3): how they come to exist, close, get paid, and who may read them.

A completed session is assigned to the open statement of its payer for the billing period
holding its ``stopped_at`` (in the operator's time zone) and its currency; the statement is
created on first use. The OCPP edge calls :func:`assign_to_statement` in the same transaction
that completes the session. Operator admins close a period (or one statement) once the month
is over and mark closed statements paid. A closed statement never changes: a session arriving
late for it goes to the payer's next open period and is shown there as late.

Totals are running sums of the sessions' own subtotal, VAT and total. Pricing rounded each
session once (P0), so a statement never rounds again (see docs/billing.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.audit.service import record_change
from chargegroups.auth.subject import Actor, AuthSubject
from chargegroups.billing import repository
from chargegroups.billing.repository import SessionRow
from chargegroups.billing.rules import Period, next_period, parse_period, period_of
from chargegroups.errors import Conflict, InvalidInput, NotPermitted
from chargegroups.kit.clock import utcnow
from chargegroups.kit.ids import new_id
from chargegroups.kit.money import quantize
from chargegroups.kit.pagination import Page, PageRequest, decode_cursor, encode_cursor, paginate
from chargegroups.models import ChargingSession, Operator, Statement

OPEN, CLOSED, PAID = "open", "closed", "paid"
FINANCIAL_OWNER = "financial_owner"


def _payer_of(charging_session: ChargingSession) -> str:
    """The user who pays: the financial owner, or the driver paying for itself (D7)."""
    if charging_session.payer_kind == FINANCIAL_OWNER:
        payer = charging_session.payer_user_id
    else:
        payer = charging_session.payer_user_id or charging_session.user_id
    if payer is None:
        raise Conflict("The session names no paying user.", code="session_without_payer")
    return payer


async def assign_to_statement(db: AsyncSession, charging_session: ChargingSession) -> Statement:
    """Put a completed, priced session on its payer's statement and add it to the totals.

    Idempotent: a session already on a statement stays there and is not counted again.
    """
    if charging_session.statement_id is not None:
        return await db.get_one(Statement, charging_session.statement_id)
    if charging_session.status != "completed" or charging_session.stopped_at is None:
        raise Conflict("Only completed sessions are billed.", code="session_not_completed")
    currency = charging_session.currency
    subtotal, vat, total = charging_session.subtotal, charging_session.vat, charging_session.total
    if currency is None or subtotal is None or vat is None or total is None:
        raise Conflict("The session has not been priced.", code="session_not_priced")
    payer_user_id = _payer_of(charging_session)
    operator = await db.get_one(Operator, charging_session.operator_id)

    period = period_of(charging_session.stopped_at, operator.timezone)
    while True:
        statement = await _find_or_create(db, charging_session, payer_user_id, period, currency)
        if statement.status == OPEN:
            break
        # A closed statement never changes: a late session moves to the next period.
        period = next_period(period, operator.timezone)

    before = _figures(statement)
    charging_session.statement_id = statement.id
    # Sums of amounts already at the minor unit: quantize fixes the scale, it never rounds.
    statement.subtotal = quantize(statement.subtotal + subtotal, currency)
    statement.vat = quantize(statement.vat + vat, currency)
    statement.total = quantize(statement.total + total, currency)
    if charging_session.payer_kind == FINANCIAL_OWNER:
        # One statement per user, period and currency: a user who pays for a group is billed
        # as its financial owner even if it also pays some sessions of its own.
        statement.payer_kind = FINANCIAL_OWNER
    await db.flush()
    await record_change(
        db,
        Actor(kind="charger", id=charging_session.charger_id),
        "statement.session_added",
        target_type="statement",
        target_id=statement.id,
        operator_id=statement.operator_id,
        account_id=statement.account_id,
        before=before,
        after={
            **_figures(statement),
            "session_id": charging_session.id,
            "late": charging_session.stopped_at < statement.period_start,
        },
    )
    return statement


async def _find_or_create(
    db: AsyncSession,
    charging_session: ChargingSession,
    payer_user_id: str,
    period: Period,
    currency: str,
) -> Statement:
    found = await repository.find_statement_for_update(db, payer_user_id, period.start, currency)
    if found is not None:
        return found
    created = await repository.insert_statement_unless_present(
        db,
        {
            "id": new_id(),
            "operator_id": charging_session.operator_id,
            "payer_kind": charging_session.payer_kind,
            "payer_user_id": payer_user_id,
            "account_id": await repository.payer_account_id(db, payer_user_id),
            "period_start": period.start,
            "period_end": period.end,
            "currency": currency,
            "status": OPEN,
            "subtotal": quantize(Decimal(0), currency),
            "vat": quantize(Decimal(0), currency),
            "total": quantize(Decimal(0), currency),
            "created_at": utcnow(),
        },
    )
    statement = await repository.find_statement_for_update(
        db, payer_user_id, period.start, currency
    )
    assert statement is not None  # inserted above, or by a concurrent transaction
    if not created:
        return statement
    await record_change(
        db,
        Actor(kind="charger", id=charging_session.charger_id),
        "statement.created",
        target_type="statement",
        target_id=statement.id,
        operator_id=statement.operator_id,
        account_id=statement.account_id,
        after={
            "payer_user_id": payer_user_id,
            "period": period.label,
            "currency": currency,
        },
    )
    return statement


def _figures(statement: Statement) -> dict[str, Any]:
    return {
        "status": statement.status,
        "payer_kind": statement.payer_kind,
        "subtotal": f"{statement.subtotal:f}",
        "vat": f"{statement.vat:f}",
        "total": f"{statement.total:f}",
    }


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class StatementView:
    statement: Statement
    sessions: list[SessionRow]
    payer_name: str
    timezone: str


async def _operator(db: AsyncSession, subject: AuthSubject) -> Operator:
    return await db.get_one(Operator, subject.operator_id)


def _parse_period(label: str, timezone: str) -> Period:
    try:
        return parse_period(label, timezone)
    except ValueError:
        raise InvalidInput(
            "period must be a month such as 2026-11.", code="invalid_period"
        ) from None


async def list_statements(
    db: AsyncSession,
    subject: AuthSubject,
    page: PageRequest,
    *,
    period: str | None = None,
    status: str | None = None,
    payer_user_id: str | None = None,
) -> Page[Statement]:
    stmt = repository.statements_in_reach(subject)
    if period is not None:
        operator = await _operator(db, subject)
        stmt = stmt.where(Statement.period_start == _parse_period(period, operator.timezone).start)
    if status is not None:
        stmt = stmt.where(Statement.status == status)
    if payer_user_id is not None:
        stmt = stmt.where(Statement.payer_user_id == payer_user_id)
    return await paginate(db, stmt, Statement.id, page, descending=True)


async def get_statement(db: AsyncSession, subject: AuthSubject, statement_id: str) -> StatementView:
    statement = await repository.get_statement_in_reach(db, subject, statement_id)
    operator = await _operator(db, subject)
    return StatementView(
        statement=statement,
        sessions=await repository.statement_sessions(db, statement.id),
        payer_name=await repository.user_name(db, statement.payer_user_id),
        timezone=operator.timezone,
    )


async def my_sessions(
    db: AsyncSession, subject: AuthSubject, page: PageRequest
) -> Page[SessionRow]:
    """The caller's own completed sessions as a driver, whoever pays for them."""
    after = decode_cursor(page.cursor) if page.cursor is not None else None
    rows = await repository.sessions_of_driver(db, subject, after=after, limit=page.limit + 1)
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    return Page(items=rows, next_cursor=encode_cursor(rows[-1].session.id) if more else None)


# --------------------------------------------------------------------------- changing


def _require_operator_admin(subject: AuthSubject, doing: str) -> None:
    if not subject.is_operator_admin:
        raise NotPermitted(f"Only operator admins {doing}.", code="operator_admin_only")


async def _close(db: AsyncSession, subject: AuthSubject, statement: Statement) -> None:
    before = _figures(statement)
    statement.status = CLOSED
    statement.closed_at = utcnow()
    await db.flush()
    await record_change(
        db,
        subject.actor,
        "statement.closed",
        target_type="statement",
        target_id=statement.id,
        operator_id=statement.operator_id,
        account_id=statement.account_id,
        before=before,
        after=_figures(statement),
    )


def _require_period_over(period_end: datetime) -> None:
    if period_end > utcnow():
        raise Conflict(
            "A billing period can be closed only after it has ended.", code="period_not_ended"
        )


async def close_statement(db: AsyncSession, subject: AuthSubject, statement_id: str) -> Statement:
    visible = await repository.get_statement_in_reach(db, subject, statement_id)
    _require_operator_admin(subject, "close statements")
    statement = await repository.lock_statement(db, visible.id)
    if statement.status != OPEN:
        raise Conflict(f"The statement is already {statement.status}.", code="statement_not_open")
    _require_period_over(statement.period_end)
    await _close(db, subject, statement)
    return statement


async def close_period(db: AsyncSession, subject: AuthSubject, period: str) -> list[Statement]:
    """Close every open statement of the operator for one month (``YYYY-MM``)."""
    _require_operator_admin(subject, "close billing periods")
    operator = await _operator(db, subject)
    month = _parse_period(period, operator.timezone)
    _require_period_over(month.end)
    statements = await repository.open_statements_of_period(db, operator.id, month.start)
    for statement in statements:
        await _close(db, subject, statement)
    return statements


async def mark_paid(db: AsyncSession, subject: AuthSubject, statement_id: str) -> Statement:
    visible = await repository.get_statement_in_reach(db, subject, statement_id)
    _require_operator_admin(subject, "mark statements paid")
    statement = await repository.lock_statement(db, visible.id)
    if statement.status != CLOSED:
        raise Conflict(
            f"Only a closed statement can be marked paid; this one is {statement.status}.",
            code="statement_not_closed",
        )
    before = _figures(statement)
    statement.status = PAID
    statement.paid_at = utcnow()
    await db.flush()
    await record_change(
        db,
        subject.actor,
        "statement.paid",
        target_type="statement",
        target_id=statement.id,
        operator_id=statement.operator_id,
        account_id=statement.account_id,
        before=before,
        after=_figures(statement),
    )
    return statement


async def operator_timezone(db: AsyncSession, subject: AuthSubject) -> str:
    """The zone billing periods are cut in (the operator's)."""
    return (await _operator(db, subject)).timezone
