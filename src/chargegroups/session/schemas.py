from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from chargegroups.kit.money import format_amount
from chargegroups.models import ChargingSession
from chargegroups.rest.schemas import ApiModel


class PayerOut(BaseModel):
    kind: str
    user_id: str | None = None
    group_id: str | None = None


class RatePlanRefOut(BaseModel):
    id: str | None
    version: int | None


class LineOut(BaseModel):
    kind: str
    description: str
    amount: str


class TotalOut(BaseModel):
    amount: str | None
    currency: str | None


class EvseOut(BaseModel):
    id: int
    connector_id: int = Field(description="The connector within the EVSE (OCPP 2.0.1).")


class SessionOut(BaseModel):
    id: str
    charge_point_id: str
    connector_id: int = Field(
        description="The charger's connector as OCPP 1.6 numbers it: the EVSE's id (kept for "
        "clients written before `evse`)."
    )
    evse: EvseOut
    transaction_id: str
    user_id: str | None
    token_uid: str
    started_at: datetime
    stopped_at: datetime | None
    energy_kwh: str
    charging_seconds: int
    idle_seconds: int
    deciding_group_id: str | None
    discount: dict[str, Any] | None
    payer: PayerOut
    rate_plan: RatePlanRefOut
    lines: list[LineOut]
    subtotal: str | None
    vat: str | None
    total: TotalOut
    status: str
    ended_by: str | None = Field(
        description="charger (its stop), system (a session its charger never ended: "
        "end_reason charger_booted, new_transaction_on_evse or max_duration), operator (by "
        "hand); null while unfinished."
    )
    end_reason: str | None

    @classmethod
    def of(cls, row: ChargingSession, charge_point_id: str) -> SessionOut:
        return cls(
            id=row.id,
            charge_point_id=charge_point_id,
            connector_id=row.evse_id,
            evse=EvseOut(id=row.evse_id, connector_id=row.connector_id),
            transaction_id=row.transaction_id,
            user_id=row.user_id,
            token_uid=row.token_uid,
            started_at=row.started_at,
            stopped_at=row.stopped_at,
            energy_kwh=_plain(row.energy_kwh),
            charging_seconds=row.charging_seconds,
            idle_seconds=row.idle_seconds,
            deciding_group_id=row.deciding_group_id,
            discount=row.discount,
            payer=PayerOut(
                kind=row.payer_kind, user_id=row.payer_user_id, group_id=row.payer_group_id
            ),
            rate_plan=RatePlanRefOut(id=row.rate_plan_id, version=row.rate_plan_version),
            lines=[LineOut.model_validate(line) for line in row.lines or []],
            subtotal=_money(row.subtotal, row.currency),
            vat=_money(row.vat, row.currency),
            total=TotalOut(amount=_money(row.total, row.currency), currency=row.currency),
            status=row.status,
            ended_by=row.ended_by,
            end_reason=row.end_reason,
        )


class SessionEndIn(ApiModel):
    reason: str = Field(min_length=1, max_length=200)


class SessionPageOut(BaseModel):
    items: list[SessionOut]
    next_cursor: str | None


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


def _money(value: Decimal | None, currency: str | None) -> str | None:
    """Stored with four places; shown in the currency's minor unit, like the line items."""
    if value is None or currency is None:
        return None
    return format_amount(value, currency)
