"""The audit log (U2): every change, newest first, filtered and paged like the API."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import Response

from chargegroups.audit import service
from chargegroups.console.web import CurrentViewer, Db, page_router, render
from chargegroups.kit.pagination import PageRequest

router = page_router("/audit")


@router.get("")
async def audit_log(
    request: Request,
    db: Db,
    viewer: CurrentViewer,
    target_type: Annotated[str | None, Query(max_length=32)] = None,
    target_id: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    page = await service.list_events(
        db,
        viewer.subject,
        PageRequest(limit=25, cursor=cursor),
        target_type=target_type or None,
        target_id=target_id or None,
    )
    return render(
        request,
        "audit.html",
        viewer=viewer,
        page=page,
        actor_names=await service.actor_names(db, page.items),
        filters={"target_type": target_type or "", "target_id": target_id or "", "cursor": cursor},
        active="audit",
    )
