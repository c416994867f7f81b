"""Statement API shapes (API.md "Statements"); money is a decimal string plus its currency."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel

from chargegroups.billing.repository import SessionRow
from chargegroups.billing.rules import period_of
from chargegroups.billing.service import FINANCIAL_OWNER, StatementView
from chargegroups.kit.money import format_amount
from chargegroups.models import Statement


class MoneyOut(BaseModel):
    amount: str
    currency: str


def money(amount: Decimal, currency: str) -> MoneyOut:
    return MoneyOut(amount=format_amount(amount, currency), currency=currency)


class PeriodOut(BaseModel):
    start: datetime
    end: datetime
    label: str


class PayerOut(BaseModel):
    kind: Literal["financial_owner", "driver"]
    user_id: str


class SessionPayerOut(BaseModel):
    kind: Literal["financial_owner", "driver"]
    user_id: str | None
    group_id: str | None
    group_name: str | None


class GroupRefOut(BaseModel):
    id: str
    name: str | None


class LineOut(BaseModel):
    kind: str
    description: str
    amount: str


class SessionSummaryOut(BaseModel):
    id: str
    charger_id: str
    charge_point_id: str
    charger_name: str
    user_id: str | None
    driver_name: str | None
    token_uid: str
    started_at: datetime
    stopped_at: datetime | None
    energy_kwh: str
    charging_seconds: int
    idle_seconds: int
    duration_seconds: int
    deciding_group: GroupRefOut | None
    discount: dict[str, Any] | None
    payer: SessionPayerOut
    paid_by: str
    lines: list[LineOut]
    subtotal: MoneyOut | None
    vat: MoneyOut | None
    total: MoneyOut | None
    late: bool
    original_period: PeriodOut | None


class StatementListItemOut(BaseModel):
    """A statement without its sessions (``GET /statements/{id}`` lists them)."""

    id: str
    payer: PayerOut
    account_id: str | None
    period: PeriodOut
    status: Literal["open", "closed", "paid"]
    currency: str
    subtotal: MoneyOut
    vat: MoneyOut
    total: MoneyOut
    closed_at: datetime | None
    paid_at: datetime | None
    created_at: datetime


class StatementOut(StatementListItemOut):
    payer_name: str
    sessions: list[SessionSummaryOut]


def paid_by(row: SessionRow, *, viewer_id: str | None = None) -> str:
    """The driver's "paid by <group>" (D7)."""
    s = row.session
    if s.payer_kind == FINANCIAL_OWNER:
        return f"paid by {row.payer_group_name or 'a group that no longer exists'}"
    return "paid by you" if viewer_id is not None and s.user_id == viewer_id else "paid by driver"


def _period_out(start: datetime, end: datetime, timezone: str) -> PeriodOut:
    return PeriodOut(start=start, end=end, label=period_of(start, timezone).label)


def session_summary(
    row: SessionRow,
    timezone: str,
    *,
    statement: Statement | None = None,
    viewer_id: str | None = None,
) -> SessionSummaryOut:
    s = row.session
    cur = s.currency
    original = period_of(s.stopped_at, timezone) if s.stopped_at is not None else None
    late = (
        statement is not None and s.stopped_at is not None and s.stopped_at < statement.period_start
    )
    return SessionSummaryOut(
        id=s.id,
        charger_id=s.charger_id,
        charge_point_id=row.charge_point_id,
        charger_name=row.charger_name,
        user_id=s.user_id,
        driver_name=row.driver_name,
        token_uid=s.token_uid,
        started_at=s.started_at,
        stopped_at=s.stopped_at,
        energy_kwh=f"{s.energy_kwh.normalize():f}",
        charging_seconds=s.charging_seconds,
        idle_seconds=s.idle_seconds,
        duration_seconds=int((s.stopped_at - s.started_at).total_seconds()) if s.stopped_at else 0,
        deciding_group=(
            GroupRefOut(id=s.deciding_group_id, name=row.deciding_group_name)
            if s.deciding_group_id is not None
            else None
        ),
        discount=s.discount,
        payer=SessionPayerOut(
            kind=s.payer_kind,
            user_id=s.payer_user_id or (s.user_id if s.payer_kind != FINANCIAL_OWNER else None),
            group_id=s.payer_group_id,
            group_name=row.payer_group_name,
        ),
        paid_by=paid_by(row, viewer_id=viewer_id),
        lines=[LineOut(**line) for line in s.lines or []],
        subtotal=money(s.subtotal, cur) if cur and s.subtotal is not None else None,
        vat=money(s.vat, cur) if cur and s.vat is not None else None,
        total=money(s.total, cur) if cur and s.total is not None else None,
        late=late,
        original_period=(
            _period_out(original.start, original.end, timezone) if original is not None else None
        ),
    )


def _list_fields(statement: Statement, timezone: str) -> dict[str, Any]:
    cur = statement.currency
    return {
        "id": statement.id,
        "payer": PayerOut(kind=statement.payer_kind, user_id=statement.payer_user_id),
        "account_id": statement.account_id,
        "period": _period_out(statement.period_start, statement.period_end, timezone),
        "status": statement.status,
        "currency": cur,
        "subtotal": money(statement.subtotal, cur),
        "vat": money(statement.vat, cur),
        "total": money(statement.total, cur),
        "closed_at": statement.closed_at,
        "paid_at": statement.paid_at,
        "created_at": statement.created_at,
    }


def statement_list_item(statement: Statement, timezone: str) -> StatementListItemOut:
    return StatementListItemOut(**_list_fields(statement, timezone))


def statement_out(view: StatementView) -> StatementOut:
    return StatementOut(
        **_list_fields(view.statement, view.timezone),
        payer_name=view.payer_name,
        sessions=[
            session_summary(row, view.timezone, statement=view.statement) for row in view.sessions
        ],
    )
