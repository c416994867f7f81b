"""Statements (B3): what each payer owes per month, with CSV and PDF downloads."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import Response

from chargegroups.billing import render as exports
from chargegroups.billing import service
from chargegroups.console.web import CurrentViewer, Db, flash, page_router, redirect, render
from chargegroups.kit.pagination import PageRequest
from chargegroups.rest.params import PathId as Id

router = page_router("/statements")


@router.get("")
async def list_statements(
    request: Request,
    db: Db,
    viewer: CurrentViewer,
    period: Annotated[str | None, Query(max_length=7)] = None,
    status: Annotated[str | None, Query(pattern="^(open|closed|paid)?$")] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    page = await service.list_statements(
        db,
        viewer.subject,
        PageRequest(limit=25, cursor=cursor),
        period=period or None,
        status=status or None,
    )
    return render(
        request,
        "statements.html",
        viewer=viewer,
        page=page,
        filters={"period": period or "", "status": status or "", "cursor": cursor},
        active="statements",
    )


# The downloads come before /{statement_id}, which would otherwise match "<id>.csv".
@router.get("/{statement_id}.csv")
async def statement_csv(
    request: Request, db: Db, viewer: CurrentViewer, statement_id: Id
) -> Response:
    view = await service.get_statement(db, viewer.subject, statement_id)
    return Response(
        exports.statement_csv(view),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="statement-{statement_id}.csv"'},
    )


@router.get("/{statement_id}.pdf")
async def statement_pdf(
    request: Request, db: Db, viewer: CurrentViewer, statement_id: Id
) -> Response:
    view = await service.get_statement(db, viewer.subject, statement_id)
    return Response(
        exports.statement_pdf(view),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="statement-{statement_id}.pdf"'},
    )


@router.get("/{statement_id}")
async def statement_detail(
    request: Request, db: Db, viewer: CurrentViewer, statement_id: Id
) -> Response:
    view = await service.get_statement(db, viewer.subject, statement_id)
    return render(request, "statement.html", viewer=viewer, view=view, active="statements")


@router.post("/{statement_id}/mark-paid")
async def mark_paid(request: Request, db: Db, viewer: CurrentViewer, statement_id: Id) -> Response:
    await service.mark_paid(db, viewer.subject, statement_id)
    flash(request, "Statement marked paid.")
    return redirect(request, f"/statements/{statement_id}")
