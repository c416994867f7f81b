"""Sessions always end (issue 23, finding 2): a transaction the charger never ended no longer
locks its driver out. A boot of the charger or a new transaction on the same EVSE ends it at its
last meter value; the operator's maximum session duration ends the rest; each is flagged, audited,
priced once and billed once, and ConcurrentTx means "this token is charging right now"."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from typing import Any

import pytest
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.kit.clock import utcnow
from chargegroups.models import AuditEvent, ChargingSession, Operator, Statement
from chargegroups.ocpp.protocol import ocpp_time
from chargegroups.ocpp.simulator import Simulated16, Simulated201, connected
from tests.fixtures.factories import PASSWORD
from tests.ocpp.conftest import Network

VERSIONS = ["1.6", "2.0.1"]
Uow = Callable[[], AbstractAsyncContextManager[AsyncSession]]
ChargePoint = Simulated16 | Simulated201


async def start(
    cp: ChargePoint, token: str, *, at: datetime, evse: int = 1, tx: str = "tx-1"
) -> str:
    """A transaction's start with a meter reading of 1 kWh; answers the idTag(Info) status."""
    if isinstance(cp, Simulated16):
        answer = await cp.call(
            call16.StartTransaction(
                connector_id=evse, id_tag=token, meter_start=1000, timestamp=ocpp_time(at)
            ),
            suppress=False,
        )
        return str(answer.id_tag_info["status"])
    answer = await cp.call(
        call201.TransactionEvent(
            event_type="Started",
            timestamp=ocpp_time(at),
            trigger_reason="Authorized",
            seq_no=0,
            transaction_info={"transaction_id": tx},
            id_token={"id_token": token, "type": "ISO14443"},
            evse={"id": evse, "connector_id": 1},
            meter_value=[{"timestamp": ocpp_time(at), "sampled_value": [{"value": 1000}]}],
        ),
        suppress=False,
    )
    return str(answer.id_token_info["status"])


async def meter(cp: ChargePoint, wh: int, *, at: datetime, evse: int = 1) -> None:
    if isinstance(cp, Simulated16):  # 1.6 values are text, 2.0.1's numbers
        values = [{"timestamp": ocpp_time(at), "sampled_value": [{"value": str(wh)}]}]
        await cp.call(call16.MeterValues(connector_id=evse, meter_value=values), suppress=False)
    else:
        values = [{"timestamp": ocpp_time(at), "sampled_value": [{"value": wh}]}]
        await cp.call(call201.MeterValues(evse_id=evse, meter_value=values), suppress=False)


async def boot(cp: ChargePoint) -> None:
    if isinstance(cp, Simulated16):
        await cp.call(
            call16.BootNotification(charge_point_model="M", charge_point_vendor="V"),
            suppress=False,
        )
    else:
        await cp.call(
            call201.BootNotification(
                charging_station={"model": "M", "vendor_name": "V"}, reason="PowerUp"
            ),
            suppress=False,
        )


async def authorize(cp: ChargePoint, token: str) -> str:
    if isinstance(cp, Simulated16):
        answer: Any = await cp.call(call16.Authorize(id_tag=token), suppress=False)
        return str(answer.id_tag_info["status"])
    answer = await cp.call(
        call201.Authorize(id_token={"id_token": token, "type": "ISO14443"}), suppress=False
    )
    return str(answer.id_token_info["status"])


async def sessions(uow: Uow) -> list[ChargingSession]:
    async with uow() as s:
        stmt = select(ChargingSession).order_by(ChargingSession.started_at)
        return list((await s.execute(stmt)).scalars())


async def system_ends(uow: Uow, session_id: str) -> int:
    async with uow() as s:
        count = await s.scalar(
            select(func.count()).where(
                AuditEvent.target_id == session_id, AuditEvent.action == "session.ended_by_system"
            )
        )
    return int(count or 0)


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_boot_ends_the_transaction_the_charger_never_ended(
    ocpp_url: str, network: Network, uow: Uow, version: str
) -> None:
    started_at = utcnow().replace(microsecond=0) - timedelta(hours=2)
    async with connected(ocpp_url, network.public.charge_point_id, PASSWORD, version) as cp:
        assert await start(cp, network.member_token, at=started_at) == "Accepted"
        await meter(cp, 11000, at=started_at + timedelta(hours=1))
        assert await authorize(cp, network.member_token) == "ConcurrentTx"  # charging now
        await boot(cp)
        # The charger forgot the transaction; its driver is free to charge again.
        assert await authorize(cp, network.member_token) == "Accepted"

    (row,) = await sessions(uow)
    assert (row.status, row.ended_by, row.end_reason) == ("completed", "system", "charger_booted")
    # Ended at its last meter value: 10 kWh, an hour after the start.
    assert (row.energy_kwh, row.stopped_at) == (10, started_at + timedelta(hours=1))
    assert row.total is not None and row.statement_id is not None
    assert await system_ends(uow, row.id) == 1


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_new_transaction_on_the_same_evse_ends_the_orphaned_one(
    ocpp_url: str, network: Network, uow: Uow, version: str
) -> None:
    started_at = utcnow() - timedelta(hours=3)
    async with connected(ocpp_url, network.public.charge_point_id, PASSWORD, version) as cp:
        await start(cp, network.member_token, at=started_at, tx="tx-1")
        await meter(cp, 6000, at=started_at + timedelta(minutes=30))
        assert await start(cp, network.outsider_token, at=utcnow(), tx="tx-2") == "Accepted"
        # A transaction on another EVSE is left alone.
        await start(cp, network.member_token, at=utcnow(), evse=2, tx="tx-3")

    first, second, third = await sessions(uow)
    assert (first.status, first.ended_by, first.end_reason) == (
        "completed",
        "system",
        "new_transaction_on_evse",
    )
    assert first.energy_kwh == 5
    assert (second.status, third.status) == ("active", "active")


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_session_past_the_operators_maximum_duration_no_longer_blocks_its_token(
    ocpp_url: str, network: Network, uow: Uow, version: str
) -> None:
    """The default maximum is 24 h; the orphan is ended when its token next starts."""
    async with connected(ocpp_url, network.public.charge_point_id, PASSWORD, version) as cp:
        await start(cp, network.member_token, at=utcnow() - timedelta(hours=25))
        assert await authorize(cp, network.member_token) == "Accepted"
        assert await start(cp, network.member_token, at=utcnow(), evse=2, tx="tx-9") == "Accepted"

    old, new = await sessions(uow)
    assert (old.status, old.ended_by, old.end_reason) == ("completed", "system", "max_duration")
    assert (old.stopped_at, old.energy_kwh) == (old.started_at, 0)
    assert new.status == "active"


async def test_the_maximum_duration_is_the_operators_setting(
    ocpp_url: str, network: Network, uow: Uow
) -> None:
    async with uow() as s:
        operator = await s.get_one(Operator, network.operator_id)
        assert operator.max_session_hours == 24
        operator.max_session_hours = 1
    async with connected(ocpp_url, network.public.charge_point_id, PASSWORD, "1.6") as cp:
        await start(cp, network.member_token, at=utcnow() - timedelta(minutes=90))
        assert await authorize(cp, network.member_token) == "Accepted"


async def test_a_late_stop_after_the_system_ended_the_session_bills_nothing_more(
    ocpp_url: str, network: Network, uow: Uow
) -> None:
    started_at = utcnow().replace(microsecond=0) - timedelta(hours=2)
    async with connected(ocpp_url, network.public.charge_point_id, PASSWORD, "1.6") as cp:
        assert isinstance(cp, Simulated16)
        await start(cp, network.member_token, at=started_at)
        await meter(cp, 11000, at=started_at + timedelta(hours=1))
        await boot(cp)
        await cp.call(
            call16.StopTransaction(
                meter_stop=90000, timestamp=ocpp_time(utcnow()), transaction_id=1
            ),
            suppress=False,
        )

    (row,) = await sessions(uow)
    assert (row.energy_kwh, row.ended_by) == (10, "system")
    async with uow() as s:
        statements = list((await s.execute(select(Statement))).scalars())
    assert [st.total for st in statements] == [row.total]
