"""``GET /chargers/{id}/connection``: is the charger online, since when, speaking what."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
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


class OperationOut(BaseModel):
    ocpp_version: str = Field(description="The version the charger speaks, which shaped the call.")
    status: str | None = Field(description="The status in the charger's answer, if it has one.")
    answer: dict[str, Any] = Field(description="The charger's whole answer (snake_case).")

    @classmethod
    def of(cls, outcome: operations.Outcome) -> OperationOut:
        return cls(ocpp_version=outcome.ocpp_version, status=outcome.status, answer=outcome.answer)


ChargerId = Annotated[str, Path(max_length=36)]
EvseId = Annotated[int | None, Field(default=None, ge=1, le=64)]


def _commands(request: Request) -> ChargerCommands:
    commands: ChargerCommands = request.app.state.charger_commands
    return commands


class ResetIn(BaseModel):
    type: ResetKind = Field(
        default="soft",
        description="soft: once running transactions end (1.6 Soft, 2.0.1 OnIdle); "
        "hard: at once (1.6 Hard, 2.0.1 Immediate).",
    )


@router.post("/{charger_id}/reset", response_model=OperationOut)
async def reset_charger(
    charger_id: ChargerId, body: ResetIn, request: Request, db: Db, subject: Subject
) -> OperationOut:
    """Reboot a charger (operator admins), through whichever node holds its connection; 409
    `charger_offline` when it is connected nowhere, 503 `charger_no_answer` when it does not
    answer in time."""
    outcome = await operations.reset(db, _commands(request), subject, charger_id, body.type)
    return OperationOut.of(outcome)


class UnlockIn(BaseModel):
    evse_id: int = Field(default=1, ge=1, le=64, description="2.0.1's EVSE (1.6: ignored).")
    connector_id: int = Field(ge=1, le=64)


@router.post("/{charger_id}/unlock", response_model=OperationOut)
async def unlock_connector(
    charger_id: ChargerId, body: UnlockIn, request: Request, db: Db, subject: Subject
) -> OperationOut:
    """Release a connector's cable (operator admins)."""
    outcome = await operations.unlock(
        db, _commands(request), subject, charger_id,
        evse_id=body.evse_id, connector_id=body.connector_id,
    )  # fmt: skip
    return OperationOut.of(outcome)


class AvailabilityIn(BaseModel):
    operative: bool
    evse_id: EvseId
    connector_id: EvseId


@router.post("/{charger_id}/availability", response_model=OperationOut)
async def change_availability(
    charger_id: ChargerId, body: AvailabilityIn, request: Request, db: Db, subject: Subject
) -> OperationOut:
    """Take the whole charger, an EVSE or a connector out of service or back (operator admins,
    and account admins on their own chargers)."""
    outcome = await operations.change_availability(
        db, _commands(request), subject, charger_id,
        operative=body.operative, evse_id=body.evse_id, connector_id=body.connector_id,
    )  # fmt: skip
    return OperationOut.of(outcome)


class TriggerIn(BaseModel):
    message: operations.Trigger
    evse_id: EvseId
    connector_id: EvseId


@router.post("/{charger_id}/trigger", response_model=OperationOut)
async def trigger_message(
    charger_id: ChargerId, body: TriggerIn, request: Request, db: Db, subject: Subject
) -> OperationOut:
    """Ask the charger to send a message now (operator admins)."""
    outcome = await operations.trigger(
        db, _commands(request), subject, charger_id,
        message=body.message, evse_id=body.evse_id, connector_id=body.connector_id,
    )  # fmt: skip
    return OperationOut.of(outcome)


@router.get("/{charger_id}/configuration", response_model=OperationOut)
async def read_configuration(
    charger_id: ChargerId,
    request: Request,
    db: Db,
    subject: Subject,
    key: Annotated[list[str], Query(max_length=50)] = [],  # noqa: B006 (FastAPI copies it)
) -> OperationOut:
    """Read the charger's settings (operator admins): 1.6 keys (none: all), 2.0.1
    `Component.Variable` names."""
    outcome = await operations.get_configuration(
        db, _commands(request), subject, charger_id, keys=key
    )
    return OperationOut.of(outcome)


class ConfigurationIn(BaseModel):
    key: str = Field(
        min_length=1, max_length=100, description="1.6 key, or 2.0.1 Component.Variable"
    )
    value: str = Field(max_length=1000)


@router.put("/{charger_id}/configuration", response_model=OperationOut)
async def change_configuration(
    charger_id: ChargerId, body: ConfigurationIn, request: Request, db: Db, subject: Subject
) -> OperationOut:
    """Change one setting of the charger (operator admins)."""
    outcome = await operations.set_configuration(
        db, _commands(request), subject, charger_id, key=body.key, value=body.value
    )
    return OperationOut.of(outcome)


class RemoteStartIn(BaseModel):
    token_uid: str = Field(min_length=1, max_length=64)
    evse_id: EvseId


@router.post("/{charger_id}/remote-start", response_model=OperationOut)
async def remote_start(
    charger_id: ChargerId, body: RemoteStartIn, request: Request, db: Db, subject: Subject
) -> OperationOut:
    """Start charging for a token, decided first as Authorize is (409 `remote_start_refused`
    with the reason); operator admins, and account admins on their own chargers."""
    outcome = await operations.remote_start(
        db, _commands(request), subject, charger_id, token_uid=body.token_uid, evse_id=body.evse_id
    )
    return OperationOut.of(outcome)


class TransactionIn(BaseModel):
    transaction_id: str = Field(min_length=1, max_length=64)


@router.post("/{charger_id}/remote-stop", response_model=OperationOut)
async def remote_stop(
    charger_id: ChargerId, body: TransactionIn, request: Request, db: Db, subject: Subject
) -> OperationOut:
    """Stop a running transaction (operator admins, and account admins on their own chargers);
    the charger then ends it as usual (StopTransaction, TransactionEvent Ended)."""
    outcome = await operations.remote_stop(
        db, _commands(request), subject, charger_id, transaction_id=body.transaction_id
    )
    return OperationOut.of(outcome)


class TransactionStatusIn(BaseModel):
    transaction_id: str | None = Field(default=None, min_length=1, max_length=64)


@router.post("/{charger_id}/transaction-status", response_model=OperationOut)
async def transaction_status(
    charger_id: ChargerId, body: TransactionStatusIn, request: Request, db: Db, subject: Subject
) -> OperationOut:
    """Ask a 2.0.1 charger whether a transaction is still going on (operator admins); 409
    `not_supported_by_version` for 1.6."""
    outcome = await operations.transaction_status(
        db, _commands(request), subject, charger_id, transaction_id=body.transaction_id
    )
    return OperationOut.of(outcome)


@router.post("/{charger_id}/base-report", response_model=OperationOut)
async def base_report(
    charger_id: ChargerId, request: Request, db: Db, subject: Subject
) -> OperationOut:
    """Ask a 2.0.1 charger for its whole device model (operator admins); it arrives in
    NotifyReport messages."""
    outcome = await operations.base_report(db, _commands(request), subject, charger_id)
    return OperationOut.of(outcome)
