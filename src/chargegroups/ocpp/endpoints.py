"""``GET /chargers/{id}/connection``: is the charger online, since when, speaking what."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel

from chargegroups.ocpp import presence
from chargegroups.ocpp.registry import Registry
from chargegroups.rest.deps import Db, Subject
from chargegroups.rest.schemas import PROBLEM_RESPONSES

router = APIRouter(prefix="/chargers", tags=["chargers"], responses=PROBLEM_RESPONSES)


class ConnectionOut(BaseModel):
    charger_id: str
    charge_point_id: str
    online: bool
    ocpp_version: str | None
    connected_at: datetime | None
    last_seen_at: datetime | None


@router.get("/{charger_id}/connection", response_model=ConnectionOut)
async def read_connection(
    charger_id: Annotated[str, Path(max_length=36)], request: Request, db: Db, subject: Subject
) -> ConnectionOut:
    """Whether the charger is connected now (OCPP version, since when, last contact)."""
    charger = await presence.visible_charger(db, subject, charger_id)
    registry: Registry = request.app.state.ocpp_registry
    link = registry.links.get(charger.id)
    if link is None:
        return ConnectionOut(
            charger_id=charger.id,
            charge_point_id=charger.charge_point_id,
            online=False,
            ocpp_version=charger.ocpp_version,
            connected_at=None,
            last_seen_at=charger.last_seen_at,
        )
    return ConnectionOut(
        charger_id=charger.id,
        charge_point_id=charger.charge_point_id,
        online=True,
        ocpp_version=link.ocpp_version,
        connected_at=link.connected_at,
        last_seen_at=link.last_seen_at,
    )
