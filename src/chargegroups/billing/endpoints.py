from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from chargegroups.billing import render, service
from chargegroups.billing.schemas import (
    SessionSummaryOut,
    StatementListItemOut,
    StatementOut,
    session_summary,
    statement_list_item,
    statement_out,
)
from chargegroups.rest.deps import Db, Page, Subject
from chargegroups.rest.schemas import PROBLEM_RESPONSES, PageOut

router = APIRouter(tags=["statements"], responses=PROBLEM_RESPONSES)

PeriodQuery = Annotated[str, Query(max_length=7, description="A month, YYYY-MM")]


@router.get("/statements", response_model=PageOut[StatementListItemOut])
async def list_statements(
    db: Db,
    subject: Subject,
    page: Page,
    period: Annotated[str | None, Query(max_length=7, description="A month, YYYY-MM")] = None,
    status: Literal["open", "closed", "paid"] | None = None,
    payer_user_id: Annotated[str | None, Query(max_length=36)] = None,
) -> PageOut[StatementListItemOut]:
    """The statements within the caller's reach."""
    found = await service.list_statements(
        db, subject, page, period=period, status=status, payer_user_id=payer_user_id
    )
    timezone = await service.operator_timezone(db, subject)
    return PageOut(
        items=[statement_list_item(s, timezone) for s in found.items],
        next_cursor=found.next_cursor,
    )


@router.post("/statements/close", response_model=list[StatementListItemOut])
async def close_period(db: Db, subject: Subject, period: PeriodQuery) -> list[StatementListItemOut]:
    """Close every open statement of a finished month (operator admins)."""
    closed = await service.close_period(db, subject, period)
    timezone = await service.operator_timezone(db, subject)
    return [statement_list_item(s, timezone) for s in closed]


# The exports come before /statements/{statement_id}, which would otherwise match "<id>.csv".
@router.get(
    "/statements/{statement_id}.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
async def statement_csv(statement_id: str, db: Db, subject: Subject) -> Response:
    """A statement's lines as CSV."""
    view = await service.get_statement(db, subject, statement_id)
    return Response(
        render.statement_csv(view),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="statement-{statement_id}.csv"'},
    )


@router.get(
    "/statements/{statement_id}.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
async def statement_pdf(statement_id: str, db: Db, subject: Subject) -> Response:
    """A statement as PDF."""
    view = await service.get_statement(db, subject, statement_id)
    return Response(
        render.statement_pdf(view),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="statement-{statement_id}.pdf"'},
    )


@router.get("/statements/{statement_id}", response_model=StatementOut)
async def read_statement(statement_id: str, db: Db, subject: Subject) -> StatementOut:
    """One statement with its lines."""
    return statement_out(await service.get_statement(db, subject, statement_id))


@router.post("/statements/{statement_id}/close", response_model=StatementOut)
async def close_statement(statement_id: str, db: Db, subject: Subject) -> StatementOut:
    """Close a draft statement: its lines no longer change."""
    await service.close_statement(db, subject, statement_id)
    return statement_out(await service.get_statement(db, subject, statement_id))


@router.post("/statements/{statement_id}/mark-paid", response_model=StatementOut)
async def mark_paid(statement_id: str, db: Db, subject: Subject) -> StatementOut:
    """Record that a closed statement was paid."""
    await service.mark_paid(db, subject, statement_id)
    return statement_out(await service.get_statement(db, subject, statement_id))


@router.get("/me/sessions", response_model=PageOut[SessionSummaryOut])
async def my_sessions(db: Db, subject: Subject, page: Page) -> PageOut[SessionSummaryOut]:
    """The caller's own sessions as a driver, each saying who pays ("paid by <group>")."""
    found = await service.my_sessions(db, subject, page)
    timezone = await service.operator_timezone(db, subject)
    return PageOut(
        items=[session_summary(row, timezone, viewer_id=subject.user_id) for row in found.items],
        next_cursor=found.next_cursor,
    )
