from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from chargegroups.charger.service import ScopeEntry
from chargegroups.models import Charger
from chargegroups.rest.schemas import ApiModel

AccessMode = Literal["public", "private", "closed"]
# OCPP identities travel in the WebSocket URL path: keep them to URL-safe characters.
ChargePointId = Annotated[
    str, StringConstraints(min_length=1, max_length=48, pattern=r"^[A-Za-z0-9._:\-]+$")
]
Id = Annotated[str, StringConstraints(min_length=1, max_length=36)]


class ChargerIn(ApiModel):
    charge_point_id: ChargePointId
    name: str = Field(min_length=1, max_length=200)
    site: str | None = Field(default=None, max_length=200)
    account_id: Id | None = None
    access_mode: AccessMode = "public"
    rate_plan_id: Id | None = None
    connectors: int = Field(default=1, ge=1, le=64)
    password: str = Field(
        min_length=8, max_length=200, description="OCPP Basic auth; stored hashed, never returned."
    )


class ChargerPatch(ApiModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    site: str | None = Field(default=None, max_length=200)
    account_id: Id | None = None
    access_mode: AccessMode | None = None
    rate_plan_id: Id | None = None
    connectors: int | None = Field(default=None, ge=1, le=64)
    password: str | None = Field(default=None, min_length=8, max_length=200)


class ConnectorStatusOut(BaseModel):
    evse_id: int = Field(
        description="1.6: the connector's number (one EVSE each); 0: the whole charger."
    )
    connector_id: int
    status: str = Field(
        description="As the charger reported it (1.6 status / 2.0.1 connectorStatus)."
    )
    error_code: str | None = Field(description="1.6 errorCode (NoError when fine).")
    info: str | None
    at: datetime


class FaultOut(BaseModel):
    source: str = Field(
        description="Where: a connector, the station, or a 2.0.1 component / variable."
    )
    code: str | None
    info: str | None
    at: datetime


class OperationStatusOut(BaseModel):
    status: str
    request_id: int | None
    at: datetime


class EvseOut(BaseModel):
    id: int
    connectors: list[int]


class DeviceModelOut(BaseModel):
    evses: list[EvseOut]
    local_auth_list: dict[str, int | bool] = Field(
        description="LocalAuthListCtrlr: enabled, available, entries, max_entries, "
        "items_per_message, bytes_per_message (those reported)."
    )
    reported_at: datetime


class ChargerOut(BaseModel):
    id: str
    charge_point_id: str
    name: str
    site: str | None
    account_id: str | None
    access_mode: AccessMode
    rate_plan_id: str | None
    connectors: int
    online: bool = Field(
        description="Connected over OCPP to a running node (the same answer on every node)."
    )
    last_seen_at: datetime | None
    created_at: datetime
    connector_statuses: list[ConnectorStatusOut] = Field(
        description="Each connector's last reported status (OCPP StatusNotification / NotifyEvent)."
    )
    faults: list[FaultOut] = Field(description="Faults the charger reported and has not cleared.")
    operations: dict[str, OperationStatusOut] = Field(
        description="Progress the charger last reported of firmware, diagnostics, log and "
        "publish_firmware operations."
    )
    device_model: DeviceModelOut | None = Field(
        description="What the charger's last 2.0.1 NotifyReport said it has."
    )

    @classmethod
    def of(cls, charger: Charger, *, online: bool) -> ChargerOut:
        status = charger.station_status or {}
        return cls(
            id=charger.id,
            charge_point_id=charger.charge_point_id,
            name=charger.name,
            site=charger.site,
            account_id=charger.account_id,
            access_mode=charger.access_mode,
            rate_plan_id=charger.rate_plan_id,
            connectors=charger.connectors,
            online=online,
            last_seen_at=charger.last_seen_at,
            created_at=charger.created_at,
            connector_statuses=[
                ConnectorStatusOut.model_validate(c) for c in status.get("connectors", [])
            ],
            faults=[FaultOut.model_validate(f) for f in status.get("faults", [])],
            operations={
                name: OperationStatusOut.model_validate(value)
                for name, value in (charger.operations_status or {}).items()
            },
            device_model=None
            if charger.device_model is None
            else DeviceModelOut.model_validate(charger.device_model),
        )


class ScopeGroupOut(BaseModel):
    group_id: str
    name: str
    scope: Literal["all_accounts", "account"]
    account_id: str | None
    read_only: bool = Field(description="True when the caller may not remove this link.")

    @classmethod
    def of(cls, entry: ScopeEntry) -> ScopeGroupOut:
        return cls(
            group_id=entry.group.id,
            name=entry.group.name,
            scope=entry.group.scope_kind,
            account_id=entry.group.account_id,
            read_only=entry.read_only,
        )
