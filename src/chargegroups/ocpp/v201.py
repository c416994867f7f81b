"""OCPP 2.0.1: the central system's side of one charging-station connection."""

from __future__ import annotations

from typing import Any

from ocpp.exceptions import PropertyConstraintViolationError
from ocpp.v201 import ChargePoint as LibraryChargePoint
from ocpp.v201 import call, call_result
from ocpp.v201.enums import (
    Action,
    AuthorizationStatusEnumType,
    ChargingStateEnumType,
    DataTransferStatusEnumType,
    GenericStatusEnumType,
    GetCertificateStatusEnumType,
    Iso15118EVCertificateStatusEnumType,
    NotifyEVChargingNeedsStatusEnumType,
    RegistrationStatusEnumType,
    TransactionEventEnumType,
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
from chargegroups.ocpp.reports import device_model_read, events_read
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
        await self.charger_booted()
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
    async def on_status_notification(
        self, timestamp: str, connector_status: str, evse_id: int, connector_id: int, **_: Any
    ) -> call_result.StatusNotification:
        reported = ConnectorStatus(
            evse_id=evse_id,
            connector_id=connector_id,
            status=connector_status,
            at=parse_time(timestamp),
        )

        async def work(session: AsyncSession, charger: Charger) -> None:
            await chargers.record_connector_status(session, charger, reported)

        await self.guarded(work, lambda _: None)
        return call_result.StatusNotification()

    @handles(Action.notify_event)
    async def on_notify_event(
        self, event_data: list[dict[str, Any]], **_: Any
    ) -> call_result.NotifyEvent:
        statuses, faults = events_read(event_data)

        async def work(session: AsyncSession, charger: Charger) -> None:
            for status in statuses:
                await chargers.record_connector_status(session, charger, status)
            await chargers.record_faults(session, charger, faults)

        if statuses or faults:
            await self.guarded(work, lambda _: None)
        return call_result.NotifyEvent()

    @handles(Action.notify_report)
    async def on_notify_report(
        self,
        generated_at: str,
        seq_no: int,
        report_data: list[dict[str, Any]] | None = None,
        **_: Any,
    ) -> call_result.NotifyReport:
        part = device_model_read(report_data or [])
        at = parse_time(generated_at)

        async def work(session: AsyncSession, charger: Charger) -> None:
            await chargers.record_device_model(session, charger, part, fresh=seq_no == 0, at=at)

        await self.guarded(work, lambda _: None)
        return call_result.NotifyReport()

    @handles(Action.firmware_status_notification)
    async def on_firmware_status_notification(
        self, status: str, request_id: int | None = None, **_: Any
    ) -> call_result.FirmwareStatusNotification:
        await self.record_operation("firmware", status, request_id)
        return call_result.FirmwareStatusNotification()

    @handles(Action.publish_firmware_status_notification)
    async def on_publish_firmware_status_notification(
        self, status: str, request_id: int | None = None, **_: Any
    ) -> call_result.PublishFirmwareStatusNotification:
        await self.record_operation("publish_firmware", status, request_id)
        return call_result.PublishFirmwareStatusNotification()

    @handles(Action.log_status_notification)
    async def on_log_status_notification(
        self, status: str, request_id: int | None = None, **_: Any
    ) -> call_result.LogStatusNotification:
        await self.record_operation("log", status, request_id)
        return call_result.LogStatusNotification()

    @handles(Action.security_event_notification)
    async def on_security_event_notification(
        self, type: str, timestamp: str, tech_info: str | None = None, **_: Any
    ) -> call_result.SecurityEventNotification:
        await self.record_security_event(type, timestamp, tech_info)
        return call_result.SecurityEventNotification()

    @handles(Action.data_transfer)
    async def on_data_transfer(self, vendor_id: str, **_: Any) -> call_result.DataTransfer:
        """No vendor extension is served here."""
        return call_result.DataTransfer(status=DataTransferStatusEnumType.unknown_vendor_id)

    # Certificates: we run no certificate authority and no OCSP or ISO 15118 back end.
    @handles(Action.sign_certificate)
    async def on_sign_certificate(self, **_: Any) -> call_result.SignCertificate:
        return call_result.SignCertificate(status=GenericStatusEnumType.rejected)

    @handles(Action.get_15118_ev_certificate)
    async def on_get_15118_ev_certificate(self, **_: Any) -> call_result.Get15118EVCertificate:
        return call_result.Get15118EVCertificate(
            status=Iso15118EVCertificateStatusEnumType.failed, exi_response=""
        )

    @handles(Action.get_certificate_status)
    async def on_get_certificate_status(self, **_: Any) -> call_result.GetCertificateStatus:
        return call_result.GetCertificateStatus(status=GetCertificateStatusEnumType.failed)

    # Smart charging: we set no limits, so the station's own schedule stands and none is
    # computed for the vehicle.
    @handles(Action.notify_ev_charging_needs)
    async def on_notify_ev_charging_needs(self, **_: Any) -> call_result.NotifyEVChargingNeeds:
        return call_result.NotifyEVChargingNeeds(
            status=NotifyEVChargingNeedsStatusEnumType.rejected
        )

    @handles(Action.notify_ev_charging_schedule)
    async def on_notify_ev_charging_schedule(
        self, **_: Any
    ) -> call_result.NotifyEVChargingSchedule:
        return call_result.NotifyEVChargingSchedule(status=GenericStatusEnumType.accepted)

    # Acknowledged, nothing kept: reports of features we do not drive (charging limits and
    # profiles, display messages, monitoring, customer information, reservations).
    @handles(Action.notify_charging_limit)
    async def on_notify_charging_limit(self, **_: Any) -> call_result.NotifyChargingLimit:
        return call_result.NotifyChargingLimit()

    @handles(Action.cleared_charging_limit)
    async def on_cleared_charging_limit(self, **_: Any) -> call_result.ClearedChargingLimit:
        return call_result.ClearedChargingLimit()

    @handles(Action.report_charging_profiles)
    async def on_report_charging_profiles(self, **_: Any) -> call_result.ReportChargingProfiles:
        return call_result.ReportChargingProfiles()

    @handles(Action.notify_display_messages)
    async def on_notify_display_messages(self, **_: Any) -> call_result.NotifyDisplayMessages:
        return call_result.NotifyDisplayMessages()

    @handles(Action.notify_monitoring_report)
    async def on_notify_monitoring_report(self, **_: Any) -> call_result.NotifyMonitoringReport:
        return call_result.NotifyMonitoringReport()

    @handles(Action.notify_customer_information)
    async def on_notify_customer_information(
        self, **_: Any
    ) -> call_result.NotifyCustomerInformation:
        return call_result.NotifyCustomerInformation()

    @handles(Action.reservation_status_update)
    async def on_reservation_status_update(self, **_: Any) -> call_result.ReservationStatusUpdate:
        return call_result.ReservationStatusUpdate()

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
        # The EVSE is named when the transaction starts; a station with one needs not say so.
        evse_id = 1 if evse is None else int(evse["id"])
        connector_id = 1 if evse is None else int(evse.get("connector_id") or 1)

        async def work(session: AsyncSession, charger: Charger) -> dict[str, Any] | None:
            if evse is not None and event_type == TransactionEventEnumType.started.value:
                sessions.require_place(charger, evse_id, connector_id)
            info: dict[str, Any] | None = None
            if token_uid is not None and event_type != TransactionEventEnumType.ended.value:
                # Started, or the first event that names the driver (authorized after plug-in).
                outcome = await sessions.start_transaction(
                    session,
                    charger=charger,
                    evse_id=evse_id,
                    connector_id=connector_id,
                    token_uid=token_uid,
                    meter_start_wh=reading or 0,
                    started_at=at,
                    transaction_id=transaction_id,
                )
                if outcome.decision is not None:
                    info = id_token_info(outcome.decision)
                elif not sessions.same_token(outcome.session, token_uid):
                    # Another card on a running transaction (a stop, say): its own answer.
                    decision = await decide_for_token(
                        session, charger=charger, token_uid=token_uid, at=at
                    )
                    info = id_token_info(decision)
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
                    session,
                    charger=charger,
                    transaction_id=transaction_id,
                    energy_wh=reading,
                    at=sampled_at(meter_value, at),
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

        def refused(error: ChargeGroupsError) -> dict[str, Any]:
            if token_uid is None:  # no idTokenInfo to refuse with: the event is refused
                raise PropertyConstraintViolationError(details={"cause": error.detail})
            return _invalid(error)

        info = await self.guarded(work, refused)
        return call_result.TransactionEvent(id_token_info=info)

    @handles(Action.meter_values)
    async def on_meter_values(
        self, evse_id: int, meter_value: list[dict[str, Any]], **_: Any
    ) -> call_result.MeterValues:
        """Outside TransactionEvent: kept on the unfinished session at that EVSE, if any."""
        reading = energy_wh(meter_value)
        at = sampled_at(meter_value, utcnow())
        if reading is not None and evse_id > 0:

            async def work(session: AsyncSession, charger: Charger) -> None:
                await sessions.record_meter_at(
                    session, charger=charger, evse_id=evse_id, energy_wh=reading, at=at
                )

            await self.guarded(work, lambda _: None)
        return call_result.MeterValues()

    async def clear_cache(self) -> None:
        await self.call(call.ClearCache())
