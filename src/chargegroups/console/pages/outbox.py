"""The outbox: every email the service sent or queued (operator admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import Response

from chargegroups.console.web import CurrentViewer, Db, page_router, render
from chargegroups.kit.pagination import PageRequest
from chargegroups.onboarding import service

router = page_router("/outbox")


@router.get("")
async def outbox(
    request: Request,
    db: Db,
    viewer: CurrentViewer,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    page = await service.list_outbox(db, viewer.subject, PageRequest(limit=20, cursor=cursor))
    return render(
        request,
        "outbox.html",
        viewer=viewer,
        page=page,
        filters={"cursor": cursor},
        active="outbox",
    )
