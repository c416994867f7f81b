"""OCPP in /metrics: connections, calls by version and action, refused handshakes — moved by a
real ``ocpp`` charge point over a real WebSocket."""

from __future__ import annotations

import httpx
import pytest
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201

from chargegroups.ocpp.simulator import connected
from tests.fixtures.factories import PASSWORD
from tests.fixtures.metrics import sample_value, scrape
from tests.ocpp.conftest import Network
from tests.ocpp.test_connection import handshake_status


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_a_connection_and_its_calls_are_counted(
    ocpp_url: str, network: Network, client: httpx.AsyncClient, version: str
) -> None:
    connections = {"version": version}
    heartbeats = {"version": version, "action": "Heartbeat"}
    before = (await client.get("/metrics")).text

    async with connected(ocpp_url, network.public.charge_point_id, PASSWORD, version) as cp:
        for _ in range(2):
            await cp.call(call16.Heartbeat() if version == "1.6" else call201.Heartbeat())
        during = (await client.get("/metrics")).text

    assert sample_value(during, "chargegroups_ocpp_connections", **connections) == (
        sample_value(before, "chargegroups_ocpp_connections", **connections) + 1
    )
    assert sample_value(during, "chargegroups_ocpp_messages_total", **heartbeats) == (
        sample_value(before, "chargegroups_ocpp_messages_total", **heartbeats) + 2
    )


async def test_an_authorize_is_counted_as_a_decision(
    ocpp_url: str, network: Network, client: httpx.AsyncClient
) -> None:
    accepted = {"outcome": "allowed", "reason": "accepted_public"}
    before = await scrape(client, "chargegroups_decisions_total", **accepted)
    async with connected(ocpp_url, network.public.charge_point_id, PASSWORD, "1.6") as cp:
        answer = await cp.call(call16.Authorize(id_tag=network.member_token))
    assert answer.id_tag_info["status"] == "Accepted"
    assert await scrape(client, "chargegroups_decisions_total", **accepted) == before + 1


async def test_refused_handshakes_are_counted_by_status(
    ocpp_url: str, network: Network, client: httpx.AsyncClient
) -> None:
    before = {
        s: await scrape(client, "chargegroups_ocpp_handshake_failures_total", status=s)
        for s in ("401", "404")
    }
    cp_id = network.public.charge_point_id
    assert await handshake_status(ocpp_url, cp_id, "wrong password", ["ocpp1.6"]) == 401
    assert await handshake_status(ocpp_url, "NO-SUCH-CP", PASSWORD, ["ocpp1.6"]) == 404

    for status in ("401", "404"):
        after = await scrape(client, "chargegroups_ocpp_handshake_failures_total", status=status)
        assert after == before[status] + 1
