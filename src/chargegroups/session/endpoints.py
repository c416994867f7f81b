from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from chargegroups.rest.deps import Db, Page, Subject
from chargegroups.rest.schemas import PROBLEM_RESPONSES
from chargegroups.session import service
from chargegroups.session.schemas import SessionEndIn, SessionOut, SessionPageOut

router = APIRouter(prefix="/sessions", tags=["sessions"], responses=PROBLEM_RESPONSES)


@router.get("", response_model=SessionPageOut)
async def list_sessions(db: Db, subject: Subject, page: Page) -> SessionPageOut:
    """The charging sessions within the caller's reach."""
    found = await service.list_sessions(db, subject, page)
    rows = list(found.items)
    cp_ids = await service.charge_point_ids(db, rows)
    return SessionPageOut(
        items=[SessionOut.of(row, cp_ids[row.charger_id]) for row in rows],
        next_cursor=found.next_cursor,
    )


@router.get("/{session_id}", response_model=SessionOut)
async def read_session(
    session_id: Annotated[str, Path(max_length=36)],
    db: Db,
    subject: Subject,
) -> SessionOut:
    """One charging session with its price."""
    row = await service.get_session(db, subject, session_id)
    cp_ids = await service.charge_point_ids(db, [row])
    return SessionOut.of(row, cp_ids[row.charger_id])


@router.post("/{session_id}/end", response_model=SessionOut)
async def end_session(
    session_id: Annotated[str, Path(max_length=36)],
    body: SessionEndIn,
    db: Db,
    subject: Subject,
) -> SessionOut:
    """Operator admins end a session its charger never ended, at its last meter value."""
    row = await service.end_session(db, subject, session_id, reason=body.reason)
    cp_ids = await service.charge_point_ids(db, [row])
    return SessionOut.of(row, cp_ids[row.charger_id])
