"""The handshake (C4), protocol errors on a live connection, reconnects, ClearCache (D8)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import httpx
import pytest
import websockets
from ocpp.v16 import call as call16
from sqlalchemy.ext.asyncio import AsyncSession
from websockets.typing import Subprotocol

from chargegroups.charger.revocation import access_revoked
from chargegroups.decision.service import decide_for_token
from chargegroups.kit.clock import utcnow
from chargegroups.kit.secrets import hash_password
from chargegroups.models import Charger, Operator
from chargegroups.ocpp.simulator import basic_auth, connected, endpoint, open_socket
from tests.fixtures import factories as f
from tests.fixtures.factories import PASSWORD, bearer
from tests.ocpp.conftest import Network

VERSIONS = ["1.6", "2.0.1"]
Uow = Callable[[], AbstractAsyncContextManager[AsyncSession]]


async def handshake_status(url: str, cp_id: str, password: str, protocols: list[str]) -> int:
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(
            endpoint(url, cp_id),
            subprotocols=[Subprotocol(p) for p in protocols],
            additional_headers={"Authorization": basic_auth(cp_id, password)},
        )
    return refused.value.response.status_code


async def test_wrong_password_is_refused_at_the_handshake(ocpp_url: str, network: Network) -> None:
    status = await handshake_status(
        ocpp_url, network.public.charge_point_id, "wrong password", ["ocpp1.6"]
    )

    assert status == 401


async def test_unknown_charger_is_refused_at_the_handshake(ocpp_url: str, network: Network) -> None:
    assert await handshake_status(ocpp_url, "NO-SUCH-CP", PASSWORD, ["ocpp1.6"]) == 404


async def test_a_charge_point_id_longer_than_any_charger_has_is_refused(
    ocpp_url: str, network: Network
) -> None:
    assert await handshake_status(ocpp_url, "C" * 49, PASSWORD, ["ocpp1.6"]) == 404


async def test_charger_without_a_common_subprotocol_is_refused(
    ocpp_url: str, network: Network
) -> None:
    status = await handshake_status(ocpp_url, network.public.charge_point_id, PASSWORD, ["ocpp1.5"])

    assert status == 400


async def test_credentials_of_another_charger_are_refused(ocpp_url: str, network: Network) -> None:
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(
            endpoint(ocpp_url, network.public.charge_point_id),
            subprotocols=[Subprotocol("ocpp1.6")],
            additional_headers={
                "Authorization": basic_auth(network.private.charge_point_id, PASSWORD)
            },
        )

    assert refused.value.response.status_code == 401


async def test_a_changed_password_refuses_the_old_one_at_the_next_handshake(
    ocpp_url: str, network: Network, uow: Uow
) -> None:
    cp_id = network.public.charge_point_id
    await (await open_socket(ocpp_url, cp_id, PASSWORD, "1.6")).close()  # known to the process
    async with uow() as s:
        headers = await bearer(s, network.admin)
    async with httpx.AsyncClient(base_url=http_base(ocpp_url)) as http:
        changed = await http.patch(
            f"/api/v1/chargers/{network.public.id}",
            json={"password": "a-new-secret"},
            headers=headers,
        )
    assert changed.status_code == 200

    assert await handshake_status(ocpp_url, cp_id, PASSWORD, ["ocpp1.6"]) == 401
    socket = await open_socket(ocpp_url, cp_id, "a-new-secret", "1.6")
    await socket.close()


async def test_a_password_changed_by_any_committed_write_is_refused_next(
    ocpp_url: str, network: Network, uow: Uow
) -> None:
    cp_id = network.public.charge_point_id
    await (await open_socket(ocpp_url, cp_id, PASSWORD, "1.6")).close()
    async with uow() as s:
        charger = await s.get(Charger, network.public.id)
        assert charger is not None
        charger.password_hash = hash_password("written-elsewhere")

    assert await handshake_status(ocpp_url, cp_id, PASSWORD, ["ocpp1.6"]) == 401


@pytest.mark.parametrize("version", VERSIONS)
async def test_negotiates_the_offered_subprotocol(
    ocpp_url: str, network: Network, version: str
) -> None:
    socket = await open_socket(ocpp_url, network.public.charge_point_id, PASSWORD, version)
    try:
        assert socket.subprotocol == f"ocpp{version}"
    finally:
        await socket.close()


BAD_FRAMES = [
    ("1.6", "not json", "-1", "FormationViolation"),
    ("2.0.1", "not json", "-1", "FormatViolation"),
    ("1.6", '{"a": 1}', "-1", "ProtocolError"),
    ("2.0.1", '{"a": 1}', "-1", "ProtocolError"),
    ("1.6", '[7, "m-1", "Heartbeat", {}]', "m-1", "ProtocolError"),
    ("2.0.1", '[7, "m-1", "Heartbeat", {}]', "m-1", "MessageTypeNotSupported"),
    ("1.6", '[2, "m-2", "Frobnicate", {}]', "m-2", "NotSupported"),
    ("2.0.1", '[2, "m-2", "Frobnicate", {}]', "m-2", "NotSupported"),
    ("1.6", '[2, "m-3", "Authorize", {"idTag": 42}]', "m-3", "TypeConstraintViolation"),
    (
        "2.0.1",
        '[2, "m-3", "Authorize", {"idToken": {"idToken": 7, "type": "ISO14443"}}]',
        "m-3",
        "TypeConstraintViolation",
    ),
    (
        "1.6",
        '[2, "m-4", "StartTransaction", {"connectorId": 1}]',
        "m-4",
        "OccurenceConstraintViolation",
    ),
    (
        "2.0.1",
        '[2, "m-4", "TransactionEvent", {"eventType": "Started"}]',
        "m-4",
        "OccurrenceConstraintViolation",
    ),
    ("1.6", '[2, "m-5", "Heartbeat", {"extra": 1}]', "m-5", "FormationViolation"),
    ("2.0.1", '[2, "m-5", "Heartbeat", {"extra": 1}]', "m-5", "FormatViolation"),
    ("1.6", '[2, "m-6", "ClearCache", {}]', "m-6", "NotImplemented"),
]


@pytest.mark.parametrize(("version", "frame", "unique_id", "code"), BAD_FRAMES)
async def test_bad_frame_gets_a_call_error_and_the_connection_stays_up(
    ocpp_url: str, network: Network, version: str, frame: str, unique_id: str, code: str
) -> None:
    socket = await open_socket(ocpp_url, network.public.charge_point_id, PASSWORD, version)
    try:
        await socket.send(frame)
        error = json.loads(await asyncio.wait_for(socket.recv(), 10))
        await socket.send('[2, "hb", "Heartbeat", {}]')
        heartbeat = json.loads(await asyncio.wait_for(socket.recv(), 10))
    finally:
        await socket.close()

    assert error[:3] == [4, unique_id, code]
    assert heartbeat[:2] == [3, "hb"]


async def test_reconnecting_charger_replaces_its_old_connection(
    ocpp_url: str, network: Network
) -> None:
    old = await open_socket(ocpp_url, network.public.charge_point_id, PASSWORD, "1.6")
    async with connected(ocpp_url, network.public.charge_point_id, PASSWORD, "1.6") as cp:
        await asyncio.wait_for(old.wait_closed(), 10)
        answer = await cp.call(call16.Heartbeat())

    assert old.close_code == 1000
    assert answer is not None


@pytest.mark.parametrize("version", VERSIONS)
async def test_removing_a_membership_sends_clear_cache_to_connected_chargers(
    ocpp_url: str, network: Network, uow: Uow, version: str
) -> None:
    """The account admin removes the driver from its group over the API; the private charger,
    which may have cached the driver's access, is told to clear its cache (D8) and from then on
    the driver is refused there."""
    async with uow() as s:
        headers = await bearer(s, network.account_admin)
    path = f"/api/v1/groups/{network.group_id}/members/{network.member.id}"
    async with (
        httpx.AsyncClient(base_url=http_base(ocpp_url)) as http,
        connected(ocpp_url, network.private.charge_point_id, PASSWORD, version) as cp,
    ):
        assert (await http.delete(path, headers=headers)).status_code == 204
        await asyncio.wait_for(cp.cleared.wait(), 10)

    assert cp.cleared.is_set()
    async with uow() as s:
        charger = await s.get_one(Charger, network.private.id)
        decision = await decide_for_token(
            s, charger=charger, token_uid=network.member_token, at=utcnow()
        )
    assert decision.reason == "not_in_scope"


async def test_clear_cache_reaches_only_the_chargers_concerned(
    ocpp_url: str, network: Network, uow: Uow
) -> None:
    async with (
        connected(ocpp_url, network.private.charge_point_id, PASSWORD) as concerned,
        connected(ocpp_url, network.public.charge_point_id, PASSWORD) as other,
    ):
        async with uow() as s:
            access_revoked(s, operator_id=network.operator_id, charger_ids=[network.private.id])
        await asyncio.wait_for(concerned.cleared.wait(), 10)
        await other.call(call16.Heartbeat())  # a round trip after the fan-out

    assert not other.cleared.is_set()


def http_base(ocpp_url: str) -> str:
    return ocpp_url.replace("ws://", "http://").removesuffix("/ocpp")


async def test_connection_status_shows_an_online_charger(
    ocpp_url: str, network: Network, uow: Uow
) -> None:
    async with uow() as s:
        headers = await bearer(s, network.account_admin)
    path = f"/api/v1/chargers/{network.public.id}/connection"
    async with (
        httpx.AsyncClient(base_url=http_base(ocpp_url)) as http,
        connected(ocpp_url, network.public.charge_point_id, PASSWORD, "2.0.1"),
    ):
        body = (await http.get(path, headers=headers)).json()

    assert (body["online"], body["ocpp_version"]) == (True, "2.0.1")


async def test_connection_status_after_disconnect_is_offline_with_last_seen(
    ocpp_url: str, network: Network, uow: Uow
) -> None:
    async with uow() as s:
        headers = await bearer(s, network.admin)
    async with connected(ocpp_url, network.public.charge_point_id, PASSWORD, "1.6") as cp:
        await cp.call(call16.Heartbeat())
    path = f"/api/v1/chargers/{network.public.id}/connection"
    async with httpx.AsyncClient(base_url=http_base(ocpp_url)) as http:
        for _ in range(100):  # the server notices the close on its own schedule
            body = (await http.get(path, headers=headers)).json()
            if not body["online"]:
                break
            await asyncio.sleep(0.05)

    assert (body["online"], body["ocpp_version"]) == (False, "1.6")
    assert body["last_seen_at"] is not None


async def test_connection_status_of_another_accounts_charger_is_not_found(
    network: Network, uow: Uow, client: httpx.AsyncClient
) -> None:
    async with uow() as s:
        operator = await s.get_one(Operator, network.operator_id)
        other_account = await f.make_account(s, operator)
        stranger = await f.make_user(s, operator, other_account, admin_of=(other_account,))
        headers = await bearer(s, stranger)

    response = await client.get(f"/api/v1/chargers/{network.public.id}/connection", headers=headers)

    assert response.status_code == 404
