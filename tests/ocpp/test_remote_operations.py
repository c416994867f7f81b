"""Remote operations (CSMS-initiated calls) over REST: the charger's answer, its reach, and
what happens when it cannot be called."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.models import AuditEvent
from chargegroups.ocpp.simulator import connected
from tests.fixtures import factories as f
from tests.fixtures.factories import PASSWORD, bearer
from tests.ocpp.conftest import Network

Uow = Callable[[], AbstractAsyncContextManager[AsyncSession]]


def http_base(ocpp_url: str) -> str:
    return ocpp_url.replace("ws://", "http://").removesuffix("/ocpp")


@pytest.mark.parametrize(
    ("version", "kind", "sent"), [("1.6", "hard", "Hard"), ("2.0.1", "soft", "OnIdle")]
)
async def test_an_operator_admin_resets_a_connected_charger_and_gets_its_answer(
    ocpp_url: str, network: Network, uow: Uow, version: str, kind: str, sent: str
) -> None:
    async with uow() as s:
        headers = await bearer(s, network.admin)
    path = f"/api/v1/chargers/{network.public.id}/reset"
    async with (
        connected(ocpp_url, network.public.charge_point_id, PASSWORD, version) as cp,
        httpx.AsyncClient(base_url=http_base(ocpp_url), timeout=60) as http,
    ):
        response = await http.post(path, json={"type": kind}, headers=headers)

    assert response.status_code == 200, response.text
    assert response.json() == {"status": "Accepted", "ocpp_version": version}
    assert cp.resets == [sent]
    async with uow() as s:
        (event,) = (
            await s.execute(select(AuditEvent).where(AuditEvent.action == "charger.reset"))
        ).scalars()
    assert (event.target_id, event.after["status"]) == (network.public.id, "Accepted")


async def test_resetting_a_charger_connected_nowhere_is_a_conflict(
    network: Network, uow: Uow, client: httpx.AsyncClient
) -> None:
    async with uow() as s:
        headers = await bearer(s, network.admin)

    response = await client.post(
        f"/api/v1/chargers/{network.public.id}/reset", headers=headers, json={}
    )

    assert (response.status_code, response.json()["code"]) == (409, "charger_offline")


async def test_an_account_admin_may_not_reset_and_another_operator_sees_no_charger(
    network: Network, uow: Uow, client: httpx.AsyncClient
) -> None:
    async with uow() as s:
        account_admin = await bearer(s, network.account_admin)
        stranger = await bearer(s, (await f.make_operator(s)).admin)
    path = f"/api/v1/chargers/{network.public.id}/reset"

    forbidden = await client.post(path, headers=account_admin, json={})
    hidden = await client.post(path, headers=stranger, json={})

    assert forbidden.status_code == 403
    assert (hidden.status_code, hidden.json()["code"]) == (404, "not_found")


async def test_a_reset_of_an_unknown_kind_is_refused_before_the_charger_is_asked(
    network: Network, uow: Uow, client: httpx.AsyncClient
) -> None:
    async with uow() as s:
        headers = await bearer(s, network.admin)

    response = await client.post(
        f"/api/v1/chargers/{network.public.id}/reset", headers=headers, json={"type": "explode"}
    )

    assert response.status_code == 422
