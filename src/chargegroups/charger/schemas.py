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

    @classmethod
    def of(cls, charger: Charger, *, online: bool) -> ChargerOut:
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
