"""Authorize and a transaction's start are answered from the decision (D1-D8), over a real
WebSocket, by a real ``ocpp`` charge point, in both protocol versions."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201

from chargegroups.kit.clock import utcnow
from chargegroups.ocpp.simulator import connected
from tests.fixtures.factories import PASSWORD
from tests.ocpp.conftest import Network

VERSIONS = ["1.6", "2.0.1"]


async def authorize(url: str, charge_point_id: str, token: str, version: str) -> dict[str, object]:
    """The idTagInfo (1.6) or idTokenInfo (2.0.1) the server answers, as a dict."""
    async with connected(url, charge_point_id, PASSWORD, version) as cp:
        if version == "1.6":
            answer = await cp.call(call16.Authorize(id_tag=token))
            return dict(answer.id_tag_info)
        answer = await cp.call(call201.Authorize(id_token={"id_token": token, "type": "ISO14443"}))
        return dict(answer.id_token_info)


@pytest.mark.parametrize("version", VERSIONS)
async def test_member_on_public_charger_is_accepted_with_own_parent_tag(
    ocpp_url: str, network: Network, version: str
) -> None:
    info = await authorize(ocpp_url, network.public.charge_point_id, network.member_token, version)

    assert info["status"] == "Accepted"
    if version == "1.6":
        assert info["parent_id_tag"] == network.member.parent_id_tag
    else:
        assert info["group_id_token"] == {
            "id_token": network.member.parent_id_tag,
            "type": "Central",
        }
    assert network.group_id not in str(info)


@pytest.mark.parametrize("version", VERSIONS)
async def test_accepted_answer_carries_a_cache_expiry_within_the_ttl(
    ocpp_url: str, network: Network, version: str
) -> None:
    before = utcnow()
    info = await authorize(ocpp_url, network.public.charge_point_id, network.member_token, version)

    raw = info["expiry_date"] if version == "1.6" else info["cache_expiry_date_time"]
    expires = datetime.fromisoformat(str(raw))
    assert before < expires <= utcnow() + timedelta(seconds=900)


@pytest.mark.parametrize("version", VERSIONS)
async def test_unknown_token_is_invalid(ocpp_url: str, network: Network, version: str) -> None:
    info = await authorize(ocpp_url, network.public.charge_point_id, "NO-SUCH-TOKEN", version)

    assert info == {"status": "Invalid"}


@pytest.mark.parametrize("version", VERSIONS)
async def test_group_member_is_accepted_on_private_charger(
    ocpp_url: str, network: Network, version: str
) -> None:
    info = await authorize(ocpp_url, network.private.charge_point_id, network.member_token, version)

    assert info["status"] == "Accepted"


@pytest.mark.parametrize(
    ("version", "status"), [("1.6", "Invalid"), ("2.0.1", "NotAtThisLocation")]
)
async def test_outsider_is_refused_on_private_charger(
    ocpp_url: str, network: Network, version: str, status: str
) -> None:
    info = await authorize(
        ocpp_url, network.private.charge_point_id, network.outsider_token, version
    )

    assert info == {"status": status}


@pytest.mark.parametrize(
    ("version", "status"), [("1.6", "Blocked"), ("2.0.1", "NotAtThisLocation")]
)
async def test_closed_charger_refuses_every_driver(
    ocpp_url: str, network: Network, version: str, status: str
) -> None:
    info = await authorize(ocpp_url, network.closed.charge_point_id, network.member_token, version)

    assert info == {"status": status}
