"""OCPP 1.6J: the central system's side of one charger connection."""

from __future__ import annotations

from typing import Any

from ocpp.v16 import ChargePoint as LibraryChargePoint
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action, AuthorizationStatus, ChargePointStatus, RegistrationStatus
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
# The vehicle stopped drawing energy (idle starts) / draws again (idle mark cleared).
_IDLE = {ChargePointStatus.suspended_ev.value, ChargePointStatus.finishing.value}
_CHARGING = ChargePointStatus.charging.value


def id_tag_info(decision: Decision) -> dict[str, Any]:
    """idTagInfo from the decision: the user's own parentIdTag and a bounded expiry (D8)."""
    info: dict[str, Any] = {"status": decision.ocpp16_status}
    if decision.allowed:
        info["parent_id_tag"] = decision.parent_id_tag
        if decision.cache_expires_at is not None:
            info["expiry_date"] = ocpp_time(decision.cache_expires_at)
    return info


def _invalid(_: ChargeGroupsError) -> dict[str, Any]:
    return {"status": AuthorizationStatus.invalid.value}


class ChargePoint16(CentralSystemChargePoint, LibraryChargePoint):  # type: ignore[misc]
    ocpp_version = "1.6"
    missing_field = "OccurenceConstraintViolation"  # the spelling of this version's spec
    unknown_message_type = "ProtocolError"

    @handles(Action.boot_notification)
    async def on_boot_notification(self, **_: Any) -> call_result.BootNotification:
        now = utcnow()
        return call_result.BootNotification(
            current_time=ocpp_time(now),
            interval=HEARTBEAT_SECONDS,
            status=RegistrationStatus.accepted,
        )

    @handles(Action.heartbeat)
    async def on_heartbeat(self) -> call_result.Heartbeat:
        now = utcnow()
        return call_result.Heartbeat(current_time=ocpp_time(now))

    @handles(Action.status_notification)
    async def on_status_notification(
        self, connector_id: int, status: str, timestamp: str | None = None, **_: Any
    ) -> call_result.StatusNotification:
        if status in _IDLE or status == _CHARGING:
            at = parse_time(timestamp) if timestamp else utcnow()

            async def work(session: AsyncSession, charger: Charger) -> None:
                await sessions.charging_changed(
                    session,
                    charger=charger,
                    charging=status == _CHARGING,
                    at=at,
                    connector_id=connector_id,
                )

            await self.guarded(work, lambda _: None)
        return call_result.StatusNotification()

    @handles(Action.authorize)
    async def on_authorize(self, id_tag: str) -> call_result.Authorize:
        async def work(reads: ReadPool, charger: Charger) -> dict[str, Any]:
            decision = await decide_for_token(reads, charger=charger, token_uid=id_tag, at=utcnow())
            return id_tag_info(decision)

        info = await self.guarded_read(work, _invalid)
        return call_result.Authorize(id_tag_info=info)

    @handles(Action.start_transaction)
    async def on_start_transaction(
        self, connector_id: int, id_tag: str, meter_start: int, timestamp: str, **_: Any
    ) -> call_result.StartTransaction:
        started_at = parse_time(timestamp)

        async def work(session: AsyncSession, charger: Charger) -> tuple[int, dict[str, Any]]:
            outcome = await sessions.start_transaction(
                session,
                charger=charger,
                connector_id=connector_id,
                token_uid=id_tag,
                meter_start_wh=meter_start,
                started_at=started_at,
            )
            number = int(outcome.session.transaction_id)
            if outcome.decision is not None:
                return number, id_tag_info(outcome.decision)
            # A replay: answer as the first time, without deciding again.
            if outcome.session.status == sessions.REFUSED:
                return number, {"status": AuthorizationStatus.invalid.value}
            return number, {
                "status": AuthorizationStatus.accepted.value,
                "parent_id_tag": outcome.parent_id_tag,
            }

        # The spec wants a transactionId even when refusing; 0 marks one we never recorded.
        number, info = await self.guarded(work, lambda error: (0, _invalid(error)))
        return call_result.StartTransaction(transaction_id=number, id_tag_info=info)

    @handles(Action.stop_transaction)
    async def on_stop_transaction(
        self,
        meter_stop: int,
        timestamp: str,
        transaction_id: int,
        id_tag: str | None = None,
        reason: str | None = None,
        transaction_data: list[dict[str, Any]] | None = None,
    ) -> call_result.StopTransaction:
        stopped_at = parse_time(timestamp)

        async def work(session: AsyncSession, charger: Charger) -> dict[str, Any] | None:
            await sessions.stop_transaction(
                session,
                charger=charger,
                transaction_id=str(transaction_id),
                stopped_at=stopped_at,
                meter_stop_wh=meter_stop,
                reason=reason,
            )
            if id_tag is None:
                return None
            decision = await decide_for_token(
                session, charger=charger, token_uid=id_tag, at=stopped_at
            )
            return id_tag_info(decision)

        info = await self.guarded(work, lambda error: None if id_tag is None else _invalid(error))
        return call_result.StopTransaction(id_tag_info=info)

    @handles(Action.meter_values)
    async def on_meter_values(
        self,
        connector_id: int,
        meter_value: list[dict[str, Any]],
        transaction_id: int | None = None,
    ) -> call_result.MeterValues:
        reading = energy_wh(meter_value)
        if transaction_id is not None and reading is not None:

            async def work(session: AsyncSession, charger: Charger) -> None:
                await sessions.record_meter(
                    session, charger=charger, transaction_id=str(transaction_id), energy_wh=reading
                )

            await self.guarded(work, lambda _: None)
        return call_result.MeterValues()

    async def clear_cache(self) -> None:
        await self.call(call.ClearCache())
