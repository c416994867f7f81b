"""A10: the identity provider deactivates a driver over SCIM; every connected charger is told
to clear its cache (D8) and Authorize refuses the driver's token from then on."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from ocpp.v16 import call as call16

from chargegroups.models import Account
from chargegroups.ocpp.simulator import connected
from tests.fixtures.factories import PASSWORD
from tests.ocpp.conftest import Network
from tests.scim.helpers import patch_body, scim_headers


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_deactivation_over_scim_clears_caches_and_refuses_the_token(
    ocpp_url: str, network: Network, uow, version: str
) -> None:
    async with uow() as s:
        headers = await scim_headers(s, await s.get_one(Account, network.account_id))
    base = ocpp_url.replace("ws://", "http://").removesuffix("/ocpp")
    async with (
        httpx.AsyncClient(base_url=f"{base}/scim/v2", headers=headers) as idp,
        connected(ocpp_url, network.public.charge_point_id, PASSWORD, version) as cp,
    ):
        answer = await idp.patch(
            f"/Users/{network.member.id}",
            json=patch_body({"op": "replace", "path": "active", "value": False}),
        )
        assert answer.status_code == 200, answer.json()
        await asyncio.wait_for(cp.cleared.wait(), 10)
    async with connected(ocpp_url, network.public.charge_point_id, PASSWORD, "1.6") as again:
        refused = await again.call(call16.Authorize(id_tag=network.member_token))
    assert cp.cleared.is_set()
    assert refused.id_tag_info["status"] == "Blocked"
