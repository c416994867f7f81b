from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from chargegroups.audit import service
from chargegroups.audit.schemas import AuditEventOut
from chargegroups.kit.instants import Instant
from chargegroups.rest.deps import Db, Page, Subject
from chargegroups.rest.schemas import PROBLEM_RESPONSES, PageOut

router = APIRouter(prefix="/audit-events", tags=["audit"], responses=PROBLEM_RESPONSES)


@router.get("", response_model=PageOut[AuditEventOut])
async def list_audit_events(
    db: Db,
    subject: Subject,
    page: Page,
    target_type: Annotated[str | None, Query(max_length=32)] = None,
    target_id: Annotated[str | None, Query(max_length=64)] = None,
    actor_id: Annotated[str | None, Query(max_length=36)] = None,
    since: Instant | None = None,
) -> PageOut[AuditEventOut]:
    """The audit trail within the caller's reach, newest first, filtered by target, actor or
    time."""
    found = await service.list_events(
        db,
        subject,
        page,
        target_type=target_type,
        target_id=target_id,
        actor_id=actor_id,
        since=since,
    )
    names = await service.actor_names(db, found.items)
    items = [
        AuditEventOut.model_validate(e).model_copy(
            update={"actor_name": names.get(e.actor_id or "")}
        )
        for e in found.items
    ]
    return PageOut(items=items, next_cursor=found.next_cursor)
