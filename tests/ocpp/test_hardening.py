"""Hostile or broken charger input (issue 16, items 4 and 6, the OCPP side): answered with the
message's own status or a CallError, the connection kept, nothing unbilled and no traceback."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from typing import Any

import pytest
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.kit.clock import utcnow
from chargegroups.models import Charger, ChargingSession
from chargegroups.ocpp.protocol import ocpp_time
from chargegroups.ocpp.simulator import connected, open_socket
from tests.fixtures.factories import PASSWORD
from tests.ocpp.conftest import Network

VERSIONS = ["1.6", "2.0.1"]
Uow = Callable[[], AbstractAsyncContextManager[AsyncSession]]
FAR_FUTURE = "9999-12-31T23:59:59Z"
FORMAT = {"1.6": "FormationViolation", "2.0.1": "FormatViolation"}


async def exchange(url: str, network: Network, version: str, frame: str) -> list[Any]:
    """Send one raw frame; answer what came back, after proving the connection still serves."""
    socket = await open_socket(url, network.public.charge_point_id, PASSWORD, version)
    try:
        await socket.send(frame)
        answer = json.loads(await asyncio.wait_for(socket.recv(), 10))
        await socket.send('[2, "hb", "Heartbeat", {}]')
        heartbeat = json.loads(await asyncio.wait_for(socket.recv(), 10))
    finally:
        await socket.close()
    assert heartbeat[:2] == [3, "hb"]
    result: list[Any] = answer
    return result


async def only_session(uow: Uow) -> ChargingSession:
    async with uow() as s:
        (row,) = (await s.execute(select(ChargingSession))).scalars()
    return row


async def test_a_16_start_and_stop_from_a_clock_in_year_9999_are_billed_at_the_receipt_time(
    ocpp_url: str, network: Network, uow: Uow
) -> None:
    before = utcnow()
    async with connected(ocpp_url, network.public.charge_point_id, PASSWORD, "1.6") as cp:
        start: Any = await cp.call(
            call16.StartTransaction(
                connector_id=1, id_tag=network.member_token, meter_start=0, timestamp=FAR_FUTURE
            ),
            suppress=False,
        )
        await cp.call(
            call16.StopTransaction(
                meter_stop=10000, timestamp=FAR_FUTURE, transaction_id=start.transaction_id
            ),
            suppress=False,
        )

    assert start.id_tag_info["status"] == "Accepted"
    row = await only_session(uow)
    assert row.status == "completed" and row.total is not None and row.statement_id is not None
    assert row.started_at is not None and before <= row.started_at <= utcnow()
    assert row.stopped_at is not None and row.stopped_at <= utcnow()


async def test_a_201_transaction_from_a_clock_in_year_9999_is_billed_at_the_receipt_time(
    ocpp_url: str, network: Network, uow: Uow
) -> None:
    def event(kind: str, seq: int, wh: int) -> call201.TransactionEvent:
        return call201.TransactionEvent(
            event_type=kind,
            timestamp=FAR_FUTURE,
            trigger_reason="Authorized",
            seq_no=seq,
            transaction_info={"transaction_id": "tx-9999"},
            id_token={"id_token": network.member_token, "type": "ISO14443"},
            evse={"id": 1, "connector_id": 1},
            meter_value=[{"timestamp": FAR_FUTURE, "sampled_value": [{"value": wh}]}],
        )

    async with connected(ocpp_url, network.public.charge_point_id, PASSWORD, "2.0.1") as cp:
        started: Any = await cp.call(event("Started", 0, 0), suppress=False)
        await cp.call(event("Ended", 1, 10000), suppress=False)

    assert started.id_token_info["status"] == "Accepted"
    row = await only_session(uow)
    assert (row.status, row.energy_kwh) == ("completed", 10)
    assert row.stopped_at is not None and row.stopped_at <= utcnow()


@pytest.mark.parametrize("version", VERSIONS)
async def test_json_nested_1000_deep_gets_a_call_error_and_is_logged(
    ocpp_url: str, network: Network, version: str, caplog: pytest.LogCaptureFixture
) -> None:
    deep = "[" * 1000 + "]" * 1000
    with caplog.at_level(logging.WARNING, logger="chargegroups.ocpp.protocol"):
        answer = await exchange(
            ocpp_url, network, version, f'[2, "deep", "Heartbeat", {{"x": {deep}}}]'
        )

    assert answer[:3] == [4, "deep", FORMAT[version]]
    assert any("nested" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_message_id_longer_than_36_characters_is_refused_not_echoed(
    ocpp_url: str, network: Network, version: str
) -> None:
    long_id = "x" * 100_000
    answer = await exchange(ocpp_url, network, version, f'[2, "{long_id}", "Heartbeat", {{}}]')

    assert answer[0] == 4 and answer[2] == FORMAT[version]
    assert len(answer[1]) <= 36


async def set_connectors(uow: Uow, network: Network, connectors: int) -> None:
    async with uow() as s:
        charger = await s.get_one(Charger, network.public.id)
        charger.connectors = connectors


async def test_a_16_start_on_a_connector_the_charger_does_not_have_is_refused(
    ocpp_url: str, network: Network, uow: Uow
) -> None:
    await set_connectors(uow, network, 1)
    async with connected(ocpp_url, network.public.charge_point_id, PASSWORD, "1.6") as cp:
        answer: Any = await cp.call(
            call16.StartTransaction(
                connector_id=99,
                id_tag=network.member_token,
                meter_start=0,
                timestamp=ocpp_time(utcnow()),
            ),
            suppress=False,
        )

    assert (answer.transaction_id, answer.id_tag_info["status"]) == (0, "Invalid")
    async with uow() as s:
        assert list((await s.execute(select(ChargingSession))).scalars()) == []


async def test_a_16_start_with_a_negative_meter_is_refused(
    ocpp_url: str, network: Network, uow: Uow
) -> None:
    async with connected(ocpp_url, network.public.charge_point_id, PASSWORD, "1.6") as cp:
        answer: Any = await cp.call(
            call16.StartTransaction(
                connector_id=1,
                id_tag=network.member_token,
                meter_start=-5,
                timestamp=ocpp_time(utcnow()),
            ),
            suppress=False,
        )

    assert (answer.transaction_id, answer.id_tag_info["status"]) == (0, "Invalid")
    async with uow() as s:
        assert list((await s.execute(select(ChargingSession))).scalars()) == []


def started_at_evse(network: Network, evse: dict[str, int], *, token: bool = True) -> Any:
    now = ocpp_time(utcnow())
    return call201.TransactionEvent(
        event_type="Started",
        timestamp=now,
        trigger_reason="Authorized" if token else "CablePluggedIn",
        seq_no=0,
        transaction_info={"transaction_id": "tx-evse"},
        id_token={"id_token": network.member_token, "type": "ISO14443"} if token else None,
        evse=evse,
    )


async def test_a_201_start_on_an_evse_the_charger_does_not_have_is_refused(
    ocpp_url: str, network: Network, uow: Uow
) -> None:
    await set_connectors(uow, network, 1)
    async with connected(ocpp_url, network.public.charge_point_id, PASSWORD, "2.0.1") as cp:
        answer: Any = await cp.call(
            started_at_evse(network, {"id": 99, "connector_id": 1}), suppress=False
        )

    assert answer.id_token_info["status"] == "Invalid"
    async with uow() as s:
        assert list((await s.execute(select(ChargingSession))).scalars()) == []


async def test_the_device_model_decides_which_connectors_an_evse_has(
    ocpp_url: str, network: Network, uow: Uow
) -> None:
    async with uow() as s:
        charger = await s.get_one(Charger, network.public.id)
        charger.device_model = {
            "evses": [{"id": 1, "connectors": [1]}],
            "local_auth_list": {},
            "reported_at": utcnow().isoformat(),
        }
    async with connected(ocpp_url, network.public.charge_point_id, PASSWORD, "2.0.1") as cp:
        refused: Any = await cp.call(
            started_at_evse(network, {"id": 1, "connector_id": 2}), suppress=False
        )
        accepted: Any = await cp.call(
            started_at_evse(network, {"id": 1, "connector_id": 1}), suppress=False
        )

    assert (refused.id_token_info["status"], accepted.id_token_info["status"]) == (
        "Invalid",
        "Accepted",
    )


async def test_a_201_event_without_a_token_at_an_unknown_evse_gets_a_call_error(
    ocpp_url: str, network: Network, uow: Uow
) -> None:
    await set_connectors(uow, network, 1)
    async with connected(ocpp_url, network.public.charge_point_id, PASSWORD, "2.0.1") as cp:
        with pytest.raises(Exception) as refused:
            await cp.call(started_at_evse(network, {"id": 99}, token=False), suppress=False)

    assert type(refused.value).__name__ == "PropertyConstraintViolationError"


async def test_negative_meter_readings_are_not_kept(
    ocpp_url: str, network: Network, uow: Uow
) -> None:
    at = utcnow() - timedelta(minutes=10)
    async with connected(ocpp_url, network.public.charge_point_id, PASSWORD, "1.6") as cp:
        start: Any = await cp.call(
            call16.StartTransaction(
                connector_id=1,
                id_tag=network.member_token,
                meter_start=100,
                timestamp=ocpp_time(at),
            ),
            suppress=False,
        )
        await cp.call(
            call16.MeterValues(
                connector_id=1,
                transaction_id=start.transaction_id,
                meter_value=[
                    {"timestamp": ocpp_time(utcnow()), "sampled_value": [{"value": "-50"}]}
                ],
            ),
            suppress=False,
        )
        await cp.call(
            call16.StopTransaction(
                meter_stop=-7, timestamp=ocpp_time(utcnow()), transaction_id=start.transaction_id
            ),
            suppress=False,
        )

    row = await only_session(uow)
    assert (row.status, row.meter_last_wh, row.energy_kwh) == ("completed", 100, 0)
