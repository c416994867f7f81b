"""OCPP 2.0.1: the central system's side of one charging-station connection."""

from __future__ import annotations

from typing import Any

from ocpp.v201 import ChargePoint as LibraryChargePoint
from ocpp.v201 import call, call_result
from ocpp.v201.enums import (
    Action,
    AuthorizationStatusEnumType,
    ChargingStateEnumType,
    RegistrationStatusEnumType,
    TransactionEventEnumType,
)
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.database import ReadPool
from chargegroups.decision.rules import Decision
from chargegroups.decision.service import decide_for_token
from chargegroups.errors import ChargeGroupsError
from chargegroups.kit.clock import utcnow
from chargegroups.models import Charger
from chargegroups.ocpp.protocol import (
    CentralSystemChargePoint,
    energy_wh,
    handles,
    ocpp_time,
    parse_time,
)
from chargegroups.session import service as sessions

HEARTBEAT_SECONDS = 300
# 2.0.1 has no SuspendedEV connector status: the transaction's charging state tells it.
_IDLE = ChargingStateEnumType.suspended_ev.value
_CHARGING = ChargingStateEnumType.charging.value


def id_token_info(decision: Decision) -> dict[str, Any]:
    """idTokenInfo from the decision: the user's own groupIdToken, bounded cache expiry (D8)."""
    info: dict[str, Any] = {"status": decision.ocpp201_status}
    if decision.allowed:
        if decision.parent_id_tag is not None:
            info["group_id_token"] = {"id_token": decision.parent_id_tag, "type": "Central"}
        if decision.cache_expires_at is not None:
            info["cache_expiry_date_time"] = ocpp_time(decision.cache_expires_at)
    return info


def _invalid(_: ChargeGroupsError) -> dict[str, Any]:
    return {"status": AuthorizationStatusEnumType.invalid.value}


class ChargePoint201(CentralSystemChargePoint, LibraryChargePoint):  # type: ignore[misc]
    ocpp_version = "2.0.1"
    missing_field = "OccurrenceConstraintViolation"  # the spelling of this version's spec
    unknown_message_type = "MessageTypeNotSupported"

    @handles(Action.boot_notification)
    async def on_boot_notification(self, **_: Any) -> call_result.BootNotification:
        now = utcnow()
        return call_result.BootNotification(
            current_time=ocpp_time(now),
            interval=HEARTBEAT_SECONDS,
            status=RegistrationStatusEnumType.accepted,
        )

    @handles(Action.heartbeat)
    async def on_heartbeat(self, **_: Any) -> call_result.Heartbeat:
        now = utcnow()
        return call_result.Heartbeat(current_time=ocpp_time(now))

    @handles(Action.status_notification)
    async def on_status_notification(self, **_: Any) -> call_result.StatusNotification:
        return call_result.StatusNotification()

    @handles(Action.authorize)
    async def on_authorize(self, id_token: dict[str, Any], **_: Any) -> call_result.Authorize:
        async def work(reads: ReadPool, charger: Charger) -> dict[str, Any]:
            decision = await decide_for_token(
                reads, charger=charger, token_uid=str(id_token["id_token"]), at=utcnow()
            )
            return id_token_info(decision)

        info = await self.guarded_read(work, _invalid)
        return call_result.Authorize(id_token_info=info)

    @handles(Action.transaction_event)
    async def on_transaction_event(
        self,
        event_type: str,
        timestamp: str,
        transaction_info: dict[str, Any],
        id_token: dict[str, Any] | None = None,
        evse: dict[str, Any] | None = None,
        meter_value: list[dict[str, Any]] | None = None,
        **_: Any,
    ) -> call_result.TransactionEvent:
        at = parse_time(timestamp)
        transaction_id = str(transaction_info["transaction_id"])
        charging_state = transaction_info.get("charging_state")
        token_uid = None if id_token is None else str(id_token["id_token"])
        reading = energy_wh(meter_value)
        connector_id = 1 if evse is None else int(evse.get("connector_id", evse["id"]) or 1)

        async def work(session: AsyncSession, charger: Charger) -> dict[str, Any] | None:
            info: dict[str, Any] | None = None
            if token_uid is not None and event_type != TransactionEventEnumType.ended.value:
                # Started, or the first event that names the driver (authorized after plug-in).
                outcome = await sessions.start_transaction(
                    session,
                    charger=charger,
                    connector_id=connector_id,
                    token_uid=token_uid,
                    meter_start_wh=reading or 0,
                    started_at=at,
                    transaction_id=transaction_id,
                )
                if outcome.decision is not None:
                    info = id_token_info(outcome.decision)
                elif outcome.session.status == sessions.REFUSED:
                    info = {"status": AuthorizationStatusEnumType.invalid.value}
                else:
                    info = {"status": AuthorizationStatusEnumType.accepted.value}
                    if outcome.parent_id_tag is not None:
                        info["group_id_token"] = {
                            "id_token": outcome.parent_id_tag,
                            "type": "Central",
                        }
            if reading is not None and event_type != TransactionEventEnumType.ended.value:
                await sessions.record_meter(
                    session, charger=charger, transaction_id=transaction_id, energy_wh=reading
                )
            if charging_state in (_IDLE, _CHARGING):
                await sessions.charging_changed(
                    session,
                    charger=charger,
                    charging=charging_state == _CHARGING,
                    at=at,
                    transaction_id=transaction_id,
                )
            if event_type == TransactionEventEnumType.ended.value:
                await sessions.stop_transaction(
                    session,
                    charger=charger,
                    transaction_id=transaction_id,
                    stopped_at=at,
                    meter_stop_wh=reading,
                    reason=transaction_info.get("stopped_reason"),
                )
                if token_uid is not None:
                    decision = await decide_for_token(
                        session, charger=charger, token_uid=token_uid, at=at
                    )
                    info = id_token_info(decision)
            return info

        info = await self.guarded(
            work, lambda error: None if token_uid is None else _invalid(error)
        )
        return call_result.TransactionEvent(id_token_info=info)

    @handles(Action.meter_values)
    async def on_meter_values(self, **_: Any) -> call_result.MeterValues:
        """Outside a transaction: nothing is billed on it (transaction energy comes with
        TransactionEvent's meter values)."""
        return call_result.MeterValues()

    async def clear_cache(self) -> None:
        await self.call(call.ClearCache())
