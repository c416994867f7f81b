"""Transactions become sessions (B1), priced once, never twice (B2), in both versions."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.kit.clock import utcnow
from chargegroups.models import AuditEvent, ChargingSession, Statement
from chargegroups.ocpp.protocol import ocpp_time
from chargegroups.ocpp.simulator import Simulated16, Simulated201, connected, run_16, run_201
from tests.fixtures.factories import PASSWORD, bearer
from tests.ocpp.conftest import Network

VERSIONS = ["1.6", "2.0.1"]
Uow = Callable[[], AbstractAsyncContextManager[AsyncSession]]


async def sessions_of(uow: Uow, network: Network) -> list[ChargingSession]:
    async with uow() as s:
        stmt = select(ChargingSession).where(ChargingSession.operator_id == network.operator_id)
        return list((await s.execute(stmt)).scalars())


async def full_session(url: str, network: Network, version: str, **kw: object) -> list[object]:
    started_at = utcnow() - timedelta(hours=2)
    async with connected(url, network.public.charge_point_id, PASSWORD, version) as cp:
        if isinstance(cp, Simulated16):
            return list(await run_16(cp, network.member_token, 25, started_at=started_at, **kw))  # type: ignore[arg-type]
        return list(await run_201(cp, network.member_token, 25, started_at=started_at, **kw))  # type: ignore[arg-type]


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_full_transaction_is_priced_with_the_group_discount(
    ocpp_url: str, network: Network, uow: Uow, client: httpx.AsyncClient, version: str
) -> None:
    await full_session(ocpp_url, network, version, idle_minutes=30)

    (row,) = await sessions_of(uow, network)
    async with uow() as s:
        headers = await bearer(s, network.member)
    response = await client.get(f"/api/v1/sessions/{row.id}", headers=headers)
    body = response.json()
    assert response.status_code == 200, body
    # PRODUCT.md P2: 25 kWh at 0.40, 1.00 connection, 30 min idle after 15 min grace, 20 % off.
    assert [(line["kind"], line["amount"]) for line in body["lines"]] == [
        ("energy", "10.00"),
        ("connection_fee", "1.00"),
        ("idle_fee", "1.50"),
        ("discount", "-2.00"),
    ]
    assert (body["vat"], body["total"]) == ("2.20", {"amount": "12.70", "currency": "EUR"})


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_start_reported_late_is_answered_with_a_cache_expiry_from_now(
    ocpp_url: str, network: Network, version: str
) -> None:
    """The start is two hours old (the charger was offline): decided as of then, but the
    answer's authorization-cache expiry counts from the answer, not from the start."""
    answers = dict(await full_session(ocpp_url, network, version))  # type: ignore[arg-type]
    start = answers["StartTransaction" if version == "1.6" else "TransactionEvent(Started)"]
    info = start["id_tag_info"] if version == "1.6" else start["id_token_info"]
    key = "expiry_date" if version == "1.6" else "cache_expiry_date_time"
    assert info["status"] == "Accepted"
    expires = datetime.fromisoformat(info[key])
    assert utcnow() < expires <= utcnow() + timedelta(seconds=900)


@pytest.mark.parametrize("version", VERSIONS)
async def test_session_keeps_the_decision_snapshot_and_measurements(
    ocpp_url: str, network: Network, uow: Uow, version: str
) -> None:
    await full_session(ocpp_url, network, version, idle_minutes=30)

    (row,) = await sessions_of(uow, network)
    assert (row.status, row.user_id, row.token_uid) == (
        "completed",
        network.member.id,
        network.member_token,
    )
    assert (row.deciding_group_id, row.discount) == (network.group_id, {"percent": "20"})
    assert (row.rate_plan_id, row.rate_plan_version, row.currency) == (network.plan_id, 1, "EUR")
    assert (row.energy_kwh, row.charging_seconds, row.idle_seconds) == (25, 3600, 1800)
    assert (row.payer_kind, row.payer_user_id) == ("driver", network.member.id)


async def test_replayed_stop_transaction_makes_one_session_and_one_charge(
    ocpp_url: str, network: Network, uow: Uow
) -> None:
    async with connected(ocpp_url, network.public.charge_point_id, PASSWORD, "1.6") as cp:
        start = await cp.call(
            call16.StartTransaction(
                connector_id=1,
                id_tag=network.member_token,
                meter_start=1000,
                timestamp=ocpp_time(utcnow() - timedelta(hours=1)),
            )
        )
        stop = call16.StopTransaction(
            meter_stop=26000, timestamp=ocpp_time(utcnow()), transaction_id=start.transaction_id
        )
        await cp.call(stop)
        late = call16.StopTransaction(
            meter_stop=99000, timestamp=ocpp_time(utcnow()), transaction_id=start.transaction_id
        )
        await cp.call(stop)
        await cp.call(late)

    (row,) = await sessions_of(uow, network)
    assert (row.energy_kwh, row.total) == (25, Decimal("10.89"))
    async with uow() as s:
        stopped = await s.scalar(
            select(func.count()).where(
                AuditEvent.target_id == row.id, AuditEvent.action == "session.stopped"
            )
        )
        statements = list((await s.execute(select(Statement))).scalars())
    assert stopped == 1
    # B2 + B3: the one session lands on the payer's statement once.
    assert [(st.payer_user_id, st.total) for st in statements] == [
        (network.member.id, Decimal("10.89"))
    ]
    assert row.statement_id == statements[0].id


async def test_replayed_transaction_ended_makes_one_session_and_one_charge(
    ocpp_url: str, network: Network, uow: Uow
) -> None:
    async with connected(ocpp_url, network.public.charge_point_id, PASSWORD, "2.0.1") as cp:
        assert isinstance(cp, Simulated201)
        started_at = utcnow() - timedelta(hours=1)
        token = {"id_token": network.member_token, "type": "ISO14443"}

        def event(kind: str, seq: int, wh: int) -> call201.TransactionEvent:
            return call201.TransactionEvent(
                event_type=kind,
                timestamp=ocpp_time(started_at if kind == "Started" else utcnow()),
                trigger_reason="Authorized",
                seq_no=seq,
                transaction_info={"transaction_id": "tx-1"},
                id_token=token,
                evse={"id": 1, "connector_id": 1},
                meter_value=[{"timestamp": ocpp_time(utcnow()), "sampled_value": [{"value": wh}]}],
            )

        await cp.call(event("Started", 0, 0))
        await cp.call(event("Started", 0, 0))
        await cp.call(event("Ended", 1, 25000))
        await cp.call(event("Ended", 1, 25000))
        await cp.call(event("Ended", 2, 80000))

    (row,) = await sessions_of(uow, network)
    assert (row.energy_kwh, row.total) == (25, Decimal("10.89"))


@pytest.mark.parametrize("version", VERSIONS)
async def test_stop_of_an_unknown_transaction_is_answered_and_recorded(
    ocpp_url: str, network: Network, uow: Uow, version: str
) -> None:
    async with connected(ocpp_url, network.public.charge_point_id, PASSWORD, version) as cp:
        if version == "1.6":
            answer = await cp.call(
                call16.StopTransaction(
                    meter_stop=5, timestamp=ocpp_time(utcnow()), transaction_id=4242
                )
            )
        else:
            answer = await cp.call(
                call201.TransactionEvent(
                    event_type="Ended",
                    timestamp=ocpp_time(utcnow()),
                    trigger_reason="EVDeparted",
                    seq_no=9,
                    transaction_info={"transaction_id": "4242"},
                )
            )

    assert answer is not None
    assert await sessions_of(uow, network) == []
    async with uow() as s:
        recorded = await s.scalar(
            select(AuditEvent).where(
                AuditEvent.target_id == network.public.id,
                AuditEvent.action == "session.stop_unknown",
            )
        )
    assert recorded is not None and recorded.after is not None
    assert recorded.after["transaction_id"] == "4242"


async def test_refused_start_transaction_gets_a_transaction_id_and_bills_nothing(
    ocpp_url: str, network: Network, uow: Uow
) -> None:
    async with connected(ocpp_url, network.private.charge_point_id, PASSWORD, "1.6") as cp:
        answer = await cp.call(
            call16.StartTransaction(
                connector_id=1,
                id_tag=network.outsider_token,
                meter_start=0,
                timestamp=ocpp_time(utcnow()),
            )
        )
        await cp.call(
            call16.StopTransaction(
                meter_stop=9000, timestamp=ocpp_time(utcnow()), transaction_id=answer.transaction_id
            )
        )

    assert answer.id_tag_info == {"status": "Invalid"}
    assert isinstance(answer.transaction_id, int)
    (row,) = await sessions_of(uow, network)
    assert (row.status, row.transaction_id, row.total, row.lines) == (
        "refused",
        str(answer.transaction_id),
        None,
        None,
    )


async def test_start_transactions_on_one_charger_get_distinct_ids(
    ocpp_url: str, network: Network
) -> None:
    async with connected(ocpp_url, network.public.charge_point_id, PASSWORD, "1.6") as cp:
        ids = []
        for connector, token in ((1, network.member_token), (2, network.outsider_token)):
            answer = await cp.call(
                call16.StartTransaction(
                    connector_id=connector,
                    id_tag=token,
                    meter_start=0,
                    timestamp=ocpp_time(utcnow()),
                )
            )
            ids.append(answer.transaction_id)

    assert len(set(ids)) == 2


async def test_second_start_with_a_token_in_a_transaction_is_concurrent_tx(
    ocpp_url: str, network: Network
) -> None:
    async with connected(ocpp_url, network.public.charge_point_id, PASSWORD, "1.6") as cp:
        for connector in (1, 2):
            answer = await cp.call(
                call16.StartTransaction(
                    connector_id=connector,
                    id_tag=network.member_token,
                    meter_start=connector,
                    timestamp=ocpp_time(utcnow()),
                )
            )

    assert answer.id_tag_info["status"] == "ConcurrentTx"


async def test_meter_values_of_a_1_6_transaction_record_the_latest_energy_reading(
    ocpp_url: str, network: Network, uow: Uow
) -> None:
    async with connected(ocpp_url, network.public.charge_point_id, PASSWORD, "1.6") as cp:
        start = await cp.call(
            call16.StartTransaction(
                connector_id=1,
                id_tag=network.member_token,
                meter_start=500,
                timestamp=ocpp_time(utcnow() - timedelta(hours=1)),
            )
        )
        await cp.call(
            call16.MeterValues(
                connector_id=1,
                transaction_id=start.transaction_id,
                meter_value=[
                    {
                        "timestamp": ocpp_time(utcnow()),
                        "sampledValue": [{"value": "10.5", "unit": "kWh"}],
                    }
                ],
            )
        )

    (row,) = await sessions_of(uow, network)
    assert (row.meter_last_wh, row.status) == (10500, "active")


async def test_2_0_1_meter_values_outside_a_transaction_are_accepted(
    ocpp_url: str, network: Network, uow: Uow
) -> None:
    async with connected(ocpp_url, network.public.charge_point_id, PASSWORD, "2.0.1") as cp:
        answer = await cp.call(
            call201.MeterValues(
                evse_id=1,
                meter_value=[{"timestamp": ocpp_time(utcnow()), "sampled_value": [{"value": 7}]}],
            )
        )

    assert answer is not None
    assert await sessions_of(uow, network) == []


async def test_replayed_start_transaction_gets_the_same_transaction_id(
    ocpp_url: str, network: Network, uow: Uow
) -> None:
    start = call16.StartTransaction(
        connector_id=1,
        id_tag=network.member_token,
        meter_start=100,
        timestamp=ocpp_time(utcnow() - timedelta(minutes=5)),
    )
    async with connected(ocpp_url, network.public.charge_point_id, PASSWORD, "1.6") as cp:
        first = await cp.call(start)
        again = await cp.call(start)

    assert again.transaction_id == first.transaction_id
    assert again.id_tag_info["status"] == "Accepted"
    assert len(await sessions_of(uow, network)) == 1
