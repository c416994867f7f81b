"""EVSEs and connectors as OCPP 2.0.1 models them (issue 23, finding 3); a 1.6 connector is an
EVSE of its own. The API's ``connector_id`` keeps its old meaning (the EVSE) for old clients."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.kit.clock import utcnow
from chargegroups.models import ChargingSession
from chargegroups.ocpp.protocol import ocpp_time
from chargegroups.ocpp.simulator import connected
from tests.fixtures.factories import PASSWORD, bearer
from tests.ocpp.conftest import Network

Uow = Callable[[], AbstractAsyncContextManager[AsyncSession]]


def started(tx: str, token: str, evse: dict[str, int]) -> call201.TransactionEvent:
    now = ocpp_time(utcnow())
    return call201.TransactionEvent(
        event_type="Started",
        timestamp=now,
        trigger_reason="Authorized",
        seq_no=0,
        transaction_info={"transaction_id": tx},
        id_token={"id_token": token, "type": "ISO14443"},
        evse=evse,
        meter_value=[{"timestamp": now, "sampled_value": [{"value": 0}]}],
    )


async def sessions_by_transaction(uow: Uow) -> dict[str, ChargingSession]:
    async with uow() as s:
        return {r.transaction_id: r for r in (await s.execute(select(ChargingSession))).scalars()}


async def api_sessions(uow: Uow, client: httpx.AsyncClient, network: Network) -> list[Any]:
    async with uow() as s:
        headers = await bearer(s, network.admin)
    response = await client.get("/api/v1/sessions", headers=headers)
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["items"]
    return items


async def test_connector_1_of_two_evses_are_two_places(
    ocpp_url: str, network: Network, uow: Uow, client: httpx.AsyncClient
) -> None:
    async with connected(ocpp_url, network.public.charge_point_id, PASSWORD, "2.0.1") as cp:
        await cp.call(started("a", network.member_token, {"id": 1, "connector_id": 1}))
        await cp.call(started("b", network.outsider_token, {"id": 2, "connector_id": 1}))
        # Energy reported for EVSE 2 alone belongs to EVSE 2's session alone.
        await cp.call(
            call201.MeterValues(
                evse_id=2,
                meter_value=[{"timestamp": ocpp_time(utcnow()), "sampled_value": [{"value": 900}]}],
            ),
            suppress=False,
        )

    rows = await sessions_by_transaction(uow)
    assert {(tx, r.evse_id, r.connector_id) for tx, r in rows.items()} == {
        ("a", 1, 1),
        ("b", 2, 1),
    }
    assert (rows["a"].meter_last_wh, rows["b"].meter_last_wh) == (0, 900)
    shown = {
        (s["transaction_id"], s["connector_id"], s["evse"]["id"], s["evse"]["connector_id"])
        for s in await api_sessions(uow, client, network)
    }
    assert shown == {("a", 1, 1, 1), ("b", 2, 2, 1)}


async def test_a_second_connector_of_one_evse_is_recorded(
    ocpp_url: str, network: Network, uow: Uow
) -> None:
    async with connected(ocpp_url, network.public.charge_point_id, PASSWORD, "2.0.1") as cp:
        await cp.call(started("c", network.member_token, {"id": 1, "connector_id": 2}))

    row = (await sessions_by_transaction(uow))["c"]
    assert (row.evse_id, row.connector_id) == (1, 2)


async def test_a_16_connector_is_an_evse_of_its_own(
    ocpp_url: str, network: Network, uow: Uow, client: httpx.AsyncClient
) -> None:
    async with connected(ocpp_url, network.public.charge_point_id, PASSWORD, "1.6") as cp:
        await cp.call(
            call16.StartTransaction(
                connector_id=2,
                id_tag=network.member_token,
                meter_start=0,
                timestamp=ocpp_time(utcnow()),
            )
        )

    (row,) = (await sessions_by_transaction(uow)).values()
    assert (row.evse_id, row.connector_id) == (2, 1)
    (shown,) = await api_sessions(uow, client, network)
    assert (shown["connector_id"], shown["evse"]) == (2, {"id": 2, "connector_id": 1})
