"""Every message a charger may send, on both versions, gets a schema-valid answer; what matters
is kept (issue 23): security events in the audit log, status and faults, firmware / diagnostics /
log progress and the device model on the charger's page, meter values on the session."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.kit.clock import utcnow
from chargegroups.models import AuditEvent, ChargingSession
from chargegroups.ocpp.protocol import ocpp_time
from chargegroups.ocpp.schemas import actions_of
from chargegroups.ocpp.simulator import connected
from chargegroups.ocpp.v16 import ChargePoint16
from chargegroups.ocpp.v201 import ChargePoint201
from tests.fixtures.factories import PASSWORD, bearer
from tests.ocpp.conftest import Network

Uow = Callable[[], AbstractAsyncContextManager[AsyncSession]]

# The actions a charge point initiates (OCPP 1.6 with the security whitepaper; 2.0.1 part 2).
CHARGER_INITIATED_16 = {
    "Authorize",
    "BootNotification",
    "DataTransfer",
    "DiagnosticsStatusNotification",
    "FirmwareStatusNotification",
    "Heartbeat",
    "LogStatusNotification",
    "MeterValues",
    "SecurityEventNotification",
    "SignCertificate",
    "SignedFirmwareStatusNotification",
    "StartTransaction",
    "StatusNotification",
    "StopTransaction",
}
CHARGER_INITIATED_201 = {
    "Authorize",
    "BootNotification",
    "ClearedChargingLimit",
    "DataTransfer",
    "FirmwareStatusNotification",
    "Get15118EVCertificate",
    "GetCertificateStatus",
    "Heartbeat",
    "LogStatusNotification",
    "MeterValues",
    "NotifyChargingLimit",
    "NotifyCustomerInformation",
    "NotifyDisplayMessages",
    "NotifyEVChargingNeeds",
    "NotifyEVChargingSchedule",
    "NotifyEvent",
    "NotifyMonitoringReport",
    "NotifyReport",
    "PublishFirmwareStatusNotification",
    "ReportChargingProfiles",
    "ReservationStatusUpdate",
    "SecurityEventNotification",
    "SignCertificate",
    "StatusNotification",
    "TransactionEvent",
}
CSR = "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----"


def messages_16(token: str) -> list[Any]:
    now = ocpp_time(utcnow())
    return [
        call16.BootNotification(charge_point_model="M1", charge_point_vendor="V"),
        call16.Heartbeat(),
        call16.Authorize(id_tag=token),
        call16.StartTransaction(connector_id=1, id_tag=token, meter_start=100, timestamp=now),
        call16.MeterValues(
            connector_id=1, meter_value=[{"timestamp": now, "sampled_value": [{"value": "2100"}]}]
        ),
        call16.StatusNotification(
            connector_id=1,
            error_code="GroundFailure",
            status="Faulted",
            info="RCD tripped",
            timestamp=now,
        ),
        call16.DataTransfer(vendor_id="com.example.unknown", message_id="hello"),
        call16.DiagnosticsStatusNotification(status="Uploading"),
        call16.FirmwareStatusNotification(status="Downloading"),
        call16.SignedFirmwareStatusNotification(status="SignatureVerified", request_id=3),
        call16.LogStatusNotification(status="Uploading", request_id=7),
        call16.SecurityEventNotification(
            type="TamperDetectionActivated", timestamp=now, tech_info="lid opened"
        ),
        call16.SignCertificate(csr=CSR),
        call16.StopTransaction(meter_stop=2500, timestamp=now, transaction_id=1),
    ]


def messages_201(token: str) -> list[Any]:
    now = ocpp_time(utcnow())
    id_token = {"id_token": token, "type": "ISO14443"}
    schedule = {
        "id": 1,
        "charging_rate_unit": "W",
        "charging_schedule_period": [{"start_period": 0, "limit": 11000}],
    }
    meter = [{"timestamp": now, "sampled_value": [{"value": 2100}]}]
    return [
        call201.BootNotification(
            charging_station={"model": "M1", "vendor_name": "V"}, reason="PowerUp"
        ),
        call201.Heartbeat(),
        call201.Authorize(id_token=id_token),
        call201.TransactionEvent(
            event_type="Started",
            timestamp=now,
            trigger_reason="Authorized",
            seq_no=0,
            transaction_info={"transaction_id": "tx-1"},
            id_token=id_token,
            evse={"id": 1, "connector_id": 1},
            meter_value=[{"timestamp": now, "sampled_value": [{"value": 100}]}],
        ),
        call201.MeterValues(evse_id=1, meter_value=meter),
        call201.StatusNotification(
            timestamp=now, connector_status="Occupied", evse_id=1, connector_id=1
        ),
        call201.NotifyEvent(
            generated_at=now,
            seq_no=0,
            event_data=[
                {
                    "event_id": 1,
                    "timestamp": now,
                    "trigger": "Alerting",
                    "actual_value": "true",
                    "tech_code": "E42",
                    "tech_info": "overtemperature",
                    "event_notification_type": "HardWiredNotification",
                    "component": {"name": "Connector", "evse": {"id": 1, "connector_id": 1}},
                    "variable": {"name": "Problem"},
                }
            ],
        ),
        call201.NotifyReport(
            request_id=1,
            generated_at=now,
            seq_no=0,
            report_data=[
                {
                    "component": {"name": "Connector", "evse": {"id": 1, "connector_id": 1}},
                    "variable": {"name": "ConnectorType"},
                    "variable_attribute": [{"value": "cType2"}],
                },
                {
                    "component": {"name": "EVSE", "evse": {"id": 2}},
                    "variable": {"name": "Available"},
                    "variable_attribute": [{"value": "true"}],
                },
                {
                    "component": {"name": "LocalAuthListCtrlr"},
                    "variable": {"name": "Entries"},
                    "variable_attribute": [{"value": "0", "mutability": "ReadOnly"}],
                    "variable_characteristics": {
                        "data_type": "integer",
                        "max_limit": 1000,
                        "supports_monitoring": False,
                    },
                },
                {
                    "component": {"name": "LocalAuthListCtrlr"},
                    "variable": {"name": "ItemsPerMessage"},
                    "variable_attribute": [{"value": "50"}],
                },
                {
                    "component": {"name": "LocalAuthListCtrlr"},
                    "variable": {"name": "BytesPerMessage"},
                    "variable_attribute": [{"value": "4096"}],
                },
            ],
        ),
        call201.FirmwareStatusNotification(status="Downloading", request_id=5),
        call201.PublishFirmwareStatusNotification(status="Published", location=["http://x"]),
        call201.LogStatusNotification(status="Uploading", request_id=6),
        call201.SecurityEventNotification(type="StartupOfTheDevice", timestamp=now),
        call201.DataTransfer(vendor_id="com.example.unknown"),
        call201.SignCertificate(csr=CSR),
        call201.Get15118EVCertificate(
            iso15118_schema_version="urn:iso:15118:2:2013:MsgDef",
            action="Install",
            exi_request="AAAA",
        ),
        call201.GetCertificateStatus(
            ocsp_request_data={
                "hash_algorithm": "SHA256",
                "issuer_name_hash": "aa",
                "issuer_key_hash": "bb",
                "serial_number": "01",
                "responder_url": "http://ocsp.example",
            }
        ),
        call201.NotifyEVChargingNeeds(
            charging_needs={"requested_energy_transfer": "AC_three_phase"}, evse_id=1
        ),
        call201.NotifyEVChargingSchedule(time_base=now, charging_schedule=schedule, evse_id=1),
        call201.NotifyChargingLimit(charging_limit={"charging_limit_source": "EMS"}),
        call201.ClearedChargingLimit(charging_limit_source="EMS"),
        call201.ReportChargingProfiles(
            request_id=1,
            charging_limit_source="CSO",
            evse_id=1,
            charging_profile=[
                {
                    "id": 1,
                    "stack_level": 0,
                    "charging_profile_purpose": "TxDefaultProfile",
                    "charging_profile_kind": "Absolute",
                    "charging_schedule": [schedule],
                }
            ],
        ),
        call201.NotifyDisplayMessages(request_id=1),
        call201.NotifyMonitoringReport(request_id=1, seq_no=0, generated_at=now),
        call201.NotifyCustomerInformation(data="no data", seq_no=0, generated_at=now, request_id=1),
        call201.ReservationStatusUpdate(reservation_id=1, reservation_update_status="Expired"),
    ]


def name_of(message: Any) -> str:
    return type(message).__name__


async def send_all(url: str, network: Network, version: str) -> dict[str, Any]:
    """Each message on one connection; a CallError raises, and the client checks every answer
    against the version's response schema."""
    messages = (messages_16 if version == "1.6" else messages_201)(network.member_token)
    answers: dict[str, Any] = {}
    async with connected(url, network.public.charge_point_id, PASSWORD, version) as cp:
        for message in messages:
            answers[name_of(message)] = await cp.call(message, suppress=False)
    return answers


async def charger_page(uow: Uow, client: httpx.AsyncClient, network: Network) -> dict[str, Any]:
    async with uow() as s:
        headers = await bearer(s, network.admin)
    response = await client.get(f"/api/v1/chargers/{network.public.id}", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize(
    ("version", "cls", "expected", "messages"),
    [
        ("1.6", ChargePoint16, CHARGER_INITIATED_16, messages_16),
        ("2.0.1", ChargePoint201, CHARGER_INITIATED_201, messages_201),
    ],
)
def test_every_charger_initiated_action_has_a_handler_and_a_test_message(
    version: str, cls: type, expected: set[str], messages: Callable[[str], list[Any]]
) -> None:
    assert actions_of(cls) == expected
    assert {name_of(m) for m in messages("T")} == expected


async def test_every_16_message_is_answered_as_the_spec_says(
    ocpp_url: str, network: Network
) -> None:
    answers = await send_all(ocpp_url, network, "1.6")

    assert set(answers) == CHARGER_INITIATED_16
    assert answers["DataTransfer"].status == "UnknownVendorId"
    assert answers["SignCertificate"].status == "Rejected"
    assert answers["StartTransaction"].id_tag_info["status"] == "Accepted"


async def test_every_201_message_is_answered_as_the_spec_says(
    ocpp_url: str, network: Network
) -> None:
    answers = await send_all(ocpp_url, network, "2.0.1")

    assert set(answers) == CHARGER_INITIATED_201
    assert answers["DataTransfer"].status == "UnknownVendorId"
    assert answers["SignCertificate"].status == "Rejected"
    assert answers["Get15118EVCertificate"].status == "Failed"
    assert answers["GetCertificateStatus"].status == "Failed"
    assert answers["NotifyEVChargingNeeds"].status == "Rejected"
    assert answers["TransactionEvent"].id_token_info["status"] == "Accepted"


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_security_events_land_in_the_audit_log(
    ocpp_url: str, network: Network, uow: Uow, version: str
) -> None:
    await send_all(ocpp_url, network, version)

    async with uow() as s:
        events = list(
            (
                await s.execute(
                    select(AuditEvent).where(AuditEvent.action == "charger.security_event")
                )
            ).scalars()
        )
    (event,) = events
    assert (event.actor_kind, event.actor_id, event.target_id) == (
        "charger",
        network.public.id,
        network.public.id,
    )
    assert event.operator_id == network.operator_id
    expected = "TamperDetectionActivated" if version == "1.6" else "StartupOfTheDevice"
    assert event.after is not None and event.after["type"] == expected


async def test_a_16_fault_shows_on_the_charger_page_until_cleared(
    ocpp_url: str, network: Network, uow: Uow, client: httpx.AsyncClient
) -> None:
    await send_all(ocpp_url, network, "1.6")
    page = await charger_page(uow, client, network)

    assert [(c["evse_id"], c["connector_id"], c["status"]) for c in page["connector_statuses"]] == [
        (1, 1, "Faulted")
    ]
    (fault,) = page["faults"]
    assert (fault["source"], fault["code"], fault["info"]) == (
        "evse 1 connector 1",
        "GroundFailure",
        "RCD tripped",
    )
    async with connected(ocpp_url, network.public.charge_point_id, PASSWORD, "1.6") as cp:
        await cp.call(
            call16.StatusNotification(connector_id=1, error_code="NoError", status="Available"),
            suppress=False,
        )
    page = await charger_page(uow, client, network)
    assert page["faults"] == []
    assert page["connector_statuses"][0]["status"] == "Available"
    async with uow() as s:
        actions = list(
            (
                await s.execute(
                    select(AuditEvent.action)
                    .where(AuditEvent.action.like("charger.fault%"))
                    .order_by(AuditEvent.created_at)
                )
            ).scalars()
        )
    assert actions == ["charger.fault", "charger.fault_cleared"]


async def test_a_201_problem_event_shows_on_the_charger_page_until_cleared(
    ocpp_url: str, network: Network, uow: Uow, client: httpx.AsyncClient
) -> None:
    await send_all(ocpp_url, network, "2.0.1")
    page = await charger_page(uow, client, network)

    (fault,) = page["faults"]
    assert (fault["source"], fault["code"], fault["info"]) == (
        "Connector evse 1 connector 1 / Problem",
        "E42",
        "overtemperature",
    )
    assert [c["status"] for c in page["connector_statuses"]] == ["Occupied"]
    now = ocpp_time(utcnow())
    async with connected(ocpp_url, network.public.charge_point_id, PASSWORD, "2.0.1") as cp:
        await cp.call(
            call201.NotifyEvent(
                generated_at=now,
                seq_no=0,
                event_data=[
                    {
                        "event_id": 2,
                        "timestamp": now,
                        "trigger": "Alerting",
                        "actual_value": "false",
                        "cleared": True,
                        "event_notification_type": "HardWiredNotification",
                        "component": {"name": "Connector", "evse": {"id": 1, "connector_id": 1}},
                        "variable": {"name": "Problem"},
                    },
                    {
                        "event_id": 3,
                        "timestamp": now,
                        "trigger": "Delta",
                        "actual_value": "Faulted",
                        "event_notification_type": "HardWiredNotification",
                        "component": {"name": "Connector", "evse": {"id": 2, "connector_id": 1}},
                        "variable": {"name": "AvailabilityState"},
                    },
                ],
            ),
            suppress=False,
        )
    page = await charger_page(uow, client, network)
    assert [f["source"] for f in page["faults"]] == ["evse 2 connector 1"]
    assert [(c["evse_id"], c["status"]) for c in page["connector_statuses"]] == [
        (1, "Occupied"),
        (2, "Faulted"),
    ]


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_firmware_diagnostics_and_log_progress_is_kept_on_the_charger(
    ocpp_url: str, network: Network, uow: Uow, client: httpx.AsyncClient, version: str
) -> None:
    await send_all(ocpp_url, network, version)
    page = await charger_page(uow, client, network)

    operations = {name: (op["status"], op["request_id"]) for name, op in page["operations"].items()}
    if version == "1.6":
        assert operations == {
            "firmware": ("SignatureVerified", 3),
            "diagnostics": ("Uploading", None),
            "log": ("Uploading", 7),
        }
    else:
        assert operations == {
            "firmware": ("Downloading", 5),
            "publish_firmware": ("Published", None),
            "log": ("Uploading", 6),
        }


async def test_the_device_model_of_a_report_is_kept_on_the_charger(
    ocpp_url: str, network: Network, uow: Uow, client: httpx.AsyncClient
) -> None:
    await send_all(ocpp_url, network, "2.0.1")
    page = await charger_page(uow, client, network)

    model = page["device_model"]
    assert model["evses"] == [{"id": 1, "connectors": [1]}, {"id": 2, "connectors": []}]
    assert model["local_auth_list"] == {
        "entries": 0,
        "max_entries": 1000,
        "items_per_message": 50,
        "bytes_per_message": 4096,
    }
    # A later report's first part replaces the model; its further parts add to it.
    now = ocpp_time(utcnow())
    evse = {"component": {"name": "EVSE", "evse": {"id": 3}}, "variable": {"name": "Power"}}
    connector = {
        "component": {"name": "Connector", "evse": {"id": 3, "connector_id": 2}},
        "variable": {"name": "ConnectorType"},
    }
    async with connected(ocpp_url, network.public.charge_point_id, PASSWORD, "2.0.1") as cp:
        for seq_no, item in enumerate((evse, connector)):
            item["variable_attribute"] = [{"value": "1"}]
            await cp.call(
                call201.NotifyReport(
                    request_id=2, generated_at=now, seq_no=seq_no, report_data=[item], tbc=True
                ),
                suppress=False,
            )
    page = await charger_page(uow, client, network)
    assert page["device_model"]["evses"] == [{"id": 3, "connectors": [2]}]


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_meter_values_outside_a_transaction_message_land_on_the_session(
    ocpp_url: str, network: Network, uow: Uow, version: str
) -> None:
    messages = (messages_16 if version == "1.6" else messages_201)(network.member_token)
    # Boot .. MeterValues: the session is open when its meter reading arrives.
    async with connected(ocpp_url, network.public.charge_point_id, PASSWORD, version) as cp:
        for message in messages[:5]:
            await cp.call(message, suppress=False)

    async with uow() as s:
        (row,) = (await s.execute(select(ChargingSession))).scalars()
    assert (row.status, row.meter_start_wh, row.meter_last_wh) == ("active", 100, 2100)
    assert row.started_at > utcnow() - timedelta(minutes=5)
