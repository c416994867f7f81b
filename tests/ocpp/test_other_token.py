"""A transaction message that presents another token than the session's is decided for the token
presented (issue 23, finding 5): a stop by another card gets that card's answer, never the
session driver's."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201

from chargegroups.kit.clock import utcnow
from chargegroups.ocpp.protocol import ocpp_time
from chargegroups.ocpp.simulator import connected
from tests.fixtures.factories import PASSWORD
from tests.ocpp.conftest import Network


def event(kind: str, seq: int, token: str) -> call201.TransactionEvent:
    at = utcnow() - (timedelta(hours=1) if kind == "Started" else timedelta(0))
    return call201.TransactionEvent(
        event_type=kind,
        timestamp=ocpp_time(at),
        trigger_reason="Authorized" if kind != "Ended" else "StopAuthorized",
        seq_no=seq,
        transaction_info={"transaction_id": "tx-1"},
        id_token={"id_token": token, "type": "ISO14443"},
        evse={"id": 1, "connector_id": 1},
        meter_value=[{"timestamp": ocpp_time(at), "sampled_value": [{"value": 1000 * (seq + 1)}]}],
    )


@pytest.mark.parametrize("kind", ["Updated", "Ended"])
@pytest.mark.parametrize(
    ("presented", "status"), [("outsider", "Accepted"), ("unknown", "Invalid")]
)
async def test_a_201_event_with_another_token_is_decided_for_that_token(
    ocpp_url: str, network: Network, kind: str, presented: str, status: str
) -> None:
    token = network.outsider_token if presented == "outsider" else "NO-SUCH-CARD"
    async with connected(ocpp_url, network.public.charge_point_id, PASSWORD, "2.0.1") as cp:
        started: Any = await cp.call(event("Started", 0, network.member_token), suppress=False)
        answer: Any = await cp.call(event(kind, 1, token), suppress=False)

    member_group = started.id_token_info["group_id_token"]
    info = answer.id_token_info
    assert info["status"] == status
    # The session driver's own group id token never goes to another card (D8).
    assert info.get("group_id_token") != member_group


@pytest.mark.parametrize(
    ("presented", "status"), [("outsider", "Accepted"), ("unknown", "Invalid")]
)
async def test_a_16_stop_with_another_tag_is_answered_for_that_tag(
    ocpp_url: str, network: Network, presented: str, status: str
) -> None:
    tag = network.outsider_token if presented == "outsider" else "NO-SUCH-CARD"
    async with connected(ocpp_url, network.public.charge_point_id, PASSWORD, "1.6") as cp:
        start: Any = await cp.call(
            call16.StartTransaction(
                connector_id=1,
                id_tag=network.member_token,
                meter_start=0,
                timestamp=ocpp_time(utcnow() - timedelta(hours=1)),
            ),
            suppress=False,
        )
        stop: Any = await cp.call(
            call16.StopTransaction(
                meter_stop=5000,
                timestamp=ocpp_time(utcnow()),
                transaction_id=start.transaction_id,
                id_tag=tag,
            ),
            suppress=False,
        )

    assert stop.id_tag_info["status"] == status
    assert stop.id_tag_info.get("parent_id_tag") != start.id_tag_info["parent_id_tag"]
