"""``GET /chargers/{id}/connection``: is the charger online, since when, speaking what."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field

from chargegroups.charger import service as charger_service
from chargegroups.ocpp import operations, presence
from chargegroups.ocpp.commands import ChargerCommands
from chargegroups.ocpp.operations import ResetKind
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
    node_id: str | None = Field(description="The node holding the connection (N1).")


@router.get("/{charger_id}/connection", response_model=ConnectionOut)
async def read_connection(
    charger_id: Annotated[str, Path(max_length=36)], request: Request, db: Db, subject: Subject
) -> ConnectionOut:
    """Whether the charger is connected now (OCPP version, since when, last contact)."""
    charger = await presence.visible_charger(db, subject, charger_id)
    connection = (await charger_service.online(db, [charger.id])).get(charger.id)
    # Last contact is written every minute or so; the node holding the charger knows it now.
    registry: Registry = request.app.state.ocpp_registry
    link = registry.links.get(charger.id)
    here = (
        link is not None
        and connection is not None
        and link.connection_id == connection.connection_id
    )
    return ConnectionOut(
        charger_id=charger.id,
        charge_point_id=charger.charge_point_id,
        online=connection is not None,
        ocpp_version=connection.ocpp_version if connection else charger.ocpp_version,
        connected_at=connection.connected_at if connection else None,
        last_seen_at=link.last_seen_at if here and link else charger.last_seen_at,
        node_id=connection.node_id if connection else None,
    )


class ResetIn(BaseModel):
    type: ResetKind = Field(
        default="soft",
        description="soft: once running transactions end (1.6 Soft, 2.0.1 OnIdle); "
        "hard: at once (1.6 Hard, 2.0.1 Immediate).",
    )


class ResetOut(BaseModel):
    status: str = Field(description="The charger's answer: Accepted, Rejected or Scheduled.")
    ocpp_version: str


@router.post("/{charger_id}/reset", response_model=ResetOut)
async def reset_charger(
    charger_id: Annotated[str, Path(max_length=36)],
    body: ResetIn,
    request: Request,
    db: Db,
    subject: Subject,
) -> ResetOut:
    """Reboot a charger (operator admins), through whichever node holds its connection; 409
    `charger_offline` when it is connected nowhere, 503 `charger_no_answer` when it does not
    answer in time."""
    commands: ChargerCommands = request.app.state.charger_commands
    status, version = await operations.reset(db, commands, subject, charger_id, body.type)
    return ResetOut(status=status, ocpp_version=version)
