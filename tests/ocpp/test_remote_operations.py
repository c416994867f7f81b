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
from tests.ocpp.test_connection import http_base

Uow = Callable[[], AbstractAsyncContextManager[AsyncSession]]


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
    assert (response.json()["status"], response.json()["ocpp_version"]) == ("Accepted", version)
    assert cp.asked == [("Reset", {"type": sent})]
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


async def operate(
    ocpp_url: str, charger_cp_id: str, version: str, headers: dict[str, str], method: str,
    path: str, **kwargs: object,
) -> tuple[httpx.Response, list[tuple[str, dict[str, object]]]]:  # fmt: skip
    """``method path`` over the API while the charger is connected; the answer and what the
    charger was asked."""
    async with (
        connected(ocpp_url, charger_cp_id, PASSWORD, version) as cp,
        httpx.AsyncClient(base_url=http_base(ocpp_url), timeout=60) as http,
    ):
        response = await http.request(method, path, headers=headers, **kwargs)  # type: ignore[arg-type]
    return response, cp.asked


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_an_account_admin_remote_starts_a_driver_who_may_charge_there(
    ocpp_url: str, network: Network, uow: Uow, version: str
) -> None:
    async with uow() as s:
        headers = await bearer(s, network.account_admin)
    body = {"token_uid": network.member_token, "evse_id": 2}

    response, asked = await operate(
        ocpp_url, network.private.charge_point_id, version, headers, "POST",
        f"/api/v1/chargers/{network.private.id}/remote-start", json=body,
    )  # fmt: skip

    assert response.status_code == 200, response.text
    ((action, payload),) = asked
    token = network.member_token
    if version == "1.6":
        assert (action, payload) == ("RemoteStartTransaction", {"id_tag": token, "connector_id": 2})
    else:
        assert action == "RequestStartTransaction"
        assert payload["id_token"] == {"id_token": token, "type": "Central"}
        assert (payload["evse_id"], payload["remote_start_id"] > 0) == (2, True)


async def test_a_remote_start_for_a_token_refused_there_never_reaches_the_charger(
    ocpp_url: str, network: Network, uow: Uow
) -> None:
    async with uow() as s:
        headers = await bearer(s, network.admin)

    response, asked = await operate(
        ocpp_url, network.private.charge_point_id, "1.6", headers, "POST",
        f"/api/v1/chargers/{network.private.id}/remote-start",
        json={"token_uid": network.outsider_token},
    )  # fmt: skip

    assert (response.status_code, response.json()["code"]) == (409, "remote_start_refused")
    assert asked == []


@pytest.mark.parametrize(
    ("version", "transaction_id", "sent"),
    [
        ("1.6", "42", ("RemoteStopTransaction", {"transaction_id": 42})),
        ("2.0.1", "tx-42", ("RequestStopTransaction", {"transaction_id": "tx-42"})),
    ],
)
async def test_a_remote_stop_is_sent_as_the_chargers_version_names_it(
    ocpp_url: str, network: Network, uow: Uow, version: str, transaction_id: str,
    sent: tuple[str, dict[str, object]],
) -> None:  # fmt: skip
    async with uow() as s:
        headers = await bearer(s, network.admin)

    response, asked = await operate(
        ocpp_url, network.public.charge_point_id, version, headers, "POST",
        f"/api/v1/chargers/{network.public.id}/remote-stop",
        json={"transaction_id": transaction_id},
    )  # fmt: skip

    assert (response.status_code, response.json()["status"]) == (200, "Accepted")
    assert asked == [sent]


async def test_settings_are_read_and_changed_in_each_versions_terms(
    ocpp_url: str, network: Network, uow: Uow
) -> None:
    async with uow() as s:
        headers = await bearer(s, network.admin)
    path = f"/api/v1/chargers/{network.public.id}/configuration"

    read16, _ = await operate(
        ocpp_url, network.public.charge_point_id, "1.6", headers, "GET", path,
        params={"key": ["HeartbeatInterval", "Nope"]},
    )  # fmt: skip
    read201, _ = await operate(
        ocpp_url, network.public.charge_point_id, "2.0.1", headers, "GET", path,
        params={"key": ["OCPPCommCtrlr.HeartbeatInterval"]},
    )  # fmt: skip
    changed, asked = await operate(
        ocpp_url, network.public.charge_point_id, "2.0.1", headers, "PUT", path,
        json={"key": "OCPPCommCtrlr.HeartbeatInterval", "value": "60"},
    )  # fmt: skip
    unnamed, _ = await operate(
        ocpp_url, network.public.charge_point_id, "2.0.1", headers, "PUT", path,
        json={"key": "HeartbeatInterval", "value": "60"},
    )  # fmt: skip

    assert read16.json()["answer"]["configuration_key"] == [
        {"key": "HeartbeatInterval", "readonly": False, "value": "300"}
    ]
    assert read16.json()["answer"]["unknown_key"] == ["Nope"]
    (result,) = read201.json()["answer"]["get_variable_result"]
    assert (result["attribute_status"], result["attribute_value"]) == ("Accepted", "300")
    assert changed.json()["answer"]["set_variable_result"][0]["attribute_status"] == "Accepted"
    assert asked[0][0] == "SetVariables"
    assert (unnamed.status_code, unnamed.json()["code"]) == (422, "validation_error")


async def test_what_a_version_lacks_or_a_charger_refuses_is_a_clear_conflict(
    ocpp_url: str, network: Network, uow: Uow
) -> None:
    async with uow() as s:
        headers = await bearer(s, network.admin)
    base = f"/api/v1/chargers/{network.public.id}"

    status16, _ = await operate(
        ocpp_url, network.public.charge_point_id, "1.6", headers, "POST",
        f"{base}/transaction-status", json={},
    )  # fmt: skip
    status201, asked = await operate(
        ocpp_url, network.public.charge_point_id, "2.0.1", headers, "POST",
        f"{base}/transaction-status", json={"transaction_id": "tx-1"},
    )  # fmt: skip
    # The simulated charger has no UnlockConnector: it answers NotImplemented (a CallError).
    unlock, _ = await operate(
        ocpp_url, network.public.charge_point_id, "1.6", headers, "POST",
        f"{base}/unlock", json={"connector_id": 1},
    )  # fmt: skip

    assert (status16.status_code, status16.json()["code"]) == (409, "not_supported_by_version")
    assert status201.json()["answer"]["ongoing_indicator"] is False
    assert asked == [("GetTransactionStatus", {"transaction_id": "tx-1"})]
    assert (unlock.status_code, unlock.json()["code"]) == (409, "charger_call_error")


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_availability_and_triggers_reach_the_charger(
    ocpp_url: str, network: Network, uow: Uow, version: str
) -> None:
    async with uow() as s:
        headers = await bearer(s, network.account_admin)
        admin = await bearer(s, network.admin)
    base = f"/api/v1/chargers/{network.public.id}"

    availability, asked = await operate(
        ocpp_url, network.public.charge_point_id, version, headers, "POST",
        f"{base}/availability", json={"operative": False},
    )  # fmt: skip
    triggered, triggered_asked = await operate(
        ocpp_url, network.public.charge_point_id, version, admin, "POST",
        f"{base}/trigger", json={"message": "Heartbeat"},
    )  # fmt: skip
    account_trigger = await operate(
        ocpp_url, network.public.charge_point_id, version, headers, "POST",
        f"{base}/trigger", json={"message": "Heartbeat"},
    )  # fmt: skip

    assert (availability.status_code, triggered.status_code) == (200, 200)
    expected = {"connector_id": 0, "type": "Inoperative"} if version == "1.6" else {
        "operational_status": "Inoperative"
    }  # fmt: skip
    assert asked == [("ChangeAvailability", expected)]
    assert triggered_asked == [("TriggerMessage", {"requested_message": "Heartbeat"})]
    assert account_trigger[0].status_code == 403
