"""OCPP 1.6J: the central system's side of one charger connection."""

from __future__ import annotations

from typing import Any

from ocpp.v16 import ChargePoint as LibraryChargePoint
from ocpp.v16 import call, call_result
from ocpp.v16.enums import (
    Action,
    AuthorizationStatus,
    ChargePointStatus,
    DataTransferStatus,
    GenericStatus,
    RegistrationStatus,
)
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.charger import service as chargers
from chargegroups.charger.rules import ConnectorStatus
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
    sampled_at,
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
        await self.charger_booted()
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
        self,
        connector_id: int,
        error_code: str,
        status: str,
        timestamp: str | None = None,
        info: str | None = None,
        vendor_error_code: str | None = None,
        **_: Any,
    ) -> call_result.StatusNotification:
        at = parse_time(timestamp) if timestamp else utcnow()
        # One EVSE per 1.6 connector; connector 0 is the charger as a whole (EVSE 0).
        reported = ConnectorStatus(
            evse_id=connector_id,
            connector_id=1 if connector_id else 0,
            status=status,
            at=at,
            error_code=error_code,
            info=" ".join(filter(None, (info, vendor_error_code))) or None,
        )

        async def work(session: AsyncSession, charger: Charger) -> None:
            await chargers.record_connector_status(session, charger, reported)
            if status in _IDLE or status == _CHARGING:
                await sessions.charging_changed(
                    session,
                    charger=charger,
                    charging=status == _CHARGING,
                    at=at,
                    evse_id=connector_id,
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
                evse_id=connector_id,  # one EVSE per 1.6 connector
                connector_id=1,
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
        at = sampled_at(meter_value, utcnow())
        if reading is not None:

            async def work(session: AsyncSession, charger: Charger) -> None:
                if transaction_id is None:
                    await sessions.record_meter_at(
                        session, charger=charger, evse_id=connector_id, energy_wh=reading, at=at
                    )
                else:
                    await sessions.record_meter(
                        session,
                        charger=charger,
                        transaction_id=str(transaction_id),
                        energy_wh=reading,
                        at=at,
                    )

            await self.guarded(work, lambda _: None)
        return call_result.MeterValues()

    @handles(Action.data_transfer)
    async def on_data_transfer(self, vendor_id: str, **_: Any) -> call_result.DataTransfer:
        """No vendor extension is served here."""
        return call_result.DataTransfer(status=DataTransferStatus.unknown_vendor_id)

    @handles(Action.firmware_status_notification)
    async def on_firmware_status_notification(
        self, status: str
    ) -> call_result.FirmwareStatusNotification:
        await self.record_operation("firmware", status)
        return call_result.FirmwareStatusNotification()

    @handles(Action.signed_firmware_status_notification)
    async def on_signed_firmware_status_notification(
        self, status: str, request_id: int | None = None
    ) -> call_result.SignedFirmwareStatusNotification:
        await self.record_operation("firmware", status, request_id)
        return call_result.SignedFirmwareStatusNotification()

    @handles(Action.diagnostics_status_notification)
    async def on_diagnostics_status_notification(
        self, status: str
    ) -> call_result.DiagnosticsStatusNotification:
        await self.record_operation("diagnostics", status)
        return call_result.DiagnosticsStatusNotification()

    @handles(Action.log_status_notification)
    async def on_log_status_notification(
        self, status: str, request_id: int | None = None
    ) -> call_result.LogStatusNotification:
        await self.record_operation("log", status, request_id)
        return call_result.LogStatusNotification()

    @handles(Action.security_event_notification)
    async def on_security_event_notification(
        self, type: str, timestamp: str, tech_info: str | None = None
    ) -> call_result.SecurityEventNotification:
        await self.record_security_event(type, timestamp, tech_info)
        return call_result.SecurityEventNotification()

    @handles(Action.sign_certificate)
    async def on_sign_certificate(self, csr: str) -> call_result.SignCertificate:
        """We run no certificate authority for chargers."""
        return call_result.SignCertificate(status=GenericStatus.rejected)

    async def clear_cache(self) -> None:
        await self.call(call.ClearCache())
