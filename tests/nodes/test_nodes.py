"""Two nodes behave as one product (N1): news of every commit reaches every node, a charger is
online on one node at most, and a node that dies leaves no session open nor billed twice."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from decimal import Decimal

import httpx
import psycopg
import pytest
from ocpp.v16 import call as call16
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.charger.revocation import access_revoked
from chargegroups.kit.clock import utcnow
from chargegroups.models import ChargerConnection, ChargingSession, Node, User
from chargegroups.ocpp.protocol import ocpp_time
from chargegroups.ocpp.simulator import connected, open_socket
from tests.fixtures.factories import PASSWORD, bearer
from tests.nodes.conftest import ServeProcess, start_node
from tests.ocpp.conftest import Network

pytestmark = [pytest.mark.postgres_only, pytest.mark.e2e]
Uow = Callable[[], AbstractAsyncContextManager[AsyncSession]]
WAIT_SECONDS = 10.0


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = WAIT_SECONDS) -> bool:
    """Polls ``check`` until it holds (a bounded wait for news to arrive, not a timing)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def authorize(url: str, network: Network) -> str:
    async with connected(url, network.private.charge_point_id, PASSWORD) as cp:
        answer = await cp.call(call16.Authorize(id_tag=network.member_token))
    status: str = answer.id_tag_info["status"]
    return status


async def test_a_membership_removed_through_one_node_clears_the_charger_on_the_other(
    nodes: list[ServeProcess], network: Network, uow: Uow
) -> None:
    a, b = nodes
    async with uow() as s:
        headers = await bearer(s, network.account_admin)
    assert await authorize(b.ocpp, network) == "Accepted"
    path = f"/api/v1/groups/{network.group_id}/members/{network.member.id}"

    async with (
        httpx.AsyncClient(base_url=a.http) as http,
        connected(b.ocpp, network.private.charge_point_id, PASSWORD) as cp,
    ):
        assert (await http.delete(path, headers=headers)).status_code == 204
        await asyncio.wait_for(cp.cleared.wait(), WAIT_SECONDS)
        answer = await cp.call(call16.Authorize(id_tag=network.member_token))

    assert answer.id_tag_info["status"] != "Accepted"


async def test_a_token_revoked_through_one_node_is_refused_by_the_other(
    nodes: list[ServeProcess], network: Network, uow: Uow
) -> None:
    a, b = nodes
    async with uow() as s:
        headers = await bearer(s, network.account_admin)
    async with httpx.AsyncClient() as http:
        assert (await http.get(f"{b.http}/api/v1/me", headers=headers)).status_code == 200  # cached
        assert (await http.post(f"{a.http}/api/v1/auth/logout", headers=headers)).status_code == 204

        async def refused() -> bool:
            return (await http.get(f"{b.http}/api/v1/me", headers=headers)).status_code == 401

        assert await eventually(refused)


async def connection_row(uow: Uow, charger_id: str) -> list[tuple[str, str]]:
    async with uow() as s:
        rows = await s.execute(
            select(ChargerConnection.node_id, ChargerConnection.connection_id).where(
                ChargerConnection.charger_id == charger_id
            )
        )
        return [(node, conn) for node, conn in rows.all()]


async def test_a_charger_that_reconnects_to_the_other_node_is_online_once_there(
    nodes: list[ServeProcess], network: Network, uow: Uow
) -> None:
    a, b = nodes
    async with uow() as s:
        headers = await bearer(s, network.admin)
    old = await open_socket(a.ocpp, network.public.charge_point_id, PASSWORD)
    assert [node for node, _ in await connection_row(uow, network.public.id)] == ["node-a"]

    async with (
        connected(b.ocpp, network.public.charge_point_id, PASSWORD) as cp,
        httpx.AsyncClient() as http,
    ):
        await asyncio.wait_for(old.wait_closed(), WAIT_SECONDS)
        assert (await cp.call(call16.Heartbeat())) is not None
        seen = [
            (
                await http.get(
                    f"{node.http}/api/v1/chargers/{network.public.id}/connection", headers=headers
                )
            ).json()
            for node in nodes
        ]
        listed = [
            (await http.get(f"{node.http}/api/v1/chargers", headers=headers)).json()["items"]
            for node in nodes
        ]

    assert old.close_code == 1000
    assert [(s["online"], s["node_id"]) for s in seen] == [(True, "node-b")] * 2
    assert [[c["online"] for c in items if c["id"] == network.public.id] for items in listed] == [
        [True],
        [True],
    ]

    async def gone() -> bool:  # closed: the node notices on its own schedule
        return await connection_row(uow, network.public.id) == []

    assert await eventually(gone)


async def listener_pid(database_url: str, node_id: str) -> int:
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(False)
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        row = await (
            await conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s",
                (f"chargegroups news {node_id}",),
            )
        ).fetchone()
        assert row is not None, f"{node_id} is not listening"
        pid: int = row[0]
        await conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
        return pid


async def test_a_dropped_listening_connection_empties_the_caches_and_news_resumes(
    nodes: list[ServeProcess], network: Network, uow: Uow, migrated: str
) -> None:
    a, b = nodes
    async with uow() as s:
        headers = await bearer(s, network.account_admin)
        other = await bearer(s, network.admin)
    async with httpx.AsyncClient() as http:
        assert (await http.get(f"{b.http}/api/v1/me", headers=headers)).status_code == 200
        # Deleted behind every node's back (plain SQL: no news): B answers from its cache...
        async with uow() as s:
            await s.execute(
                text("DELETE FROM access_tokens WHERE user_id = :user_id"),
                {"user_id": network.account_admin.id},
            )
        assert (await http.get(f"{b.http}/api/v1/me", headers=headers)).status_code == 200
        assert (await http.get(f"{b.http}/api/v1/me", headers=other)).status_code == 200

        await listener_pid(migrated, "node-b")

        # ...until its listening connection drops: then it has forgotten everything it cached.
        async def forgotten() -> bool:
            return (await http.get(f"{b.http}/api/v1/me", headers=headers)).status_code == 401

        assert await eventually(forgotten)

        # Listening again, B hears A's news as before.
        async def listening() -> bool:
            return (await http.get(f"{b.http}/api/v1/me", headers=other)).status_code == 200

        assert await eventually(listening)
        assert (await http.post(f"{a.http}/api/v1/auth/logout", headers=other)).status_code == 204

        async def refused() -> bool:
            return (await http.get(f"{b.http}/api/v1/me", headers=other)).status_code == 401

        assert await eventually(refused)


async def test_ten_thousand_changes_in_one_transaction_do_not_stall_the_other_node(
    nodes: list[ServeProcess], network: Network, uow: Uow
) -> None:
    a, b = nodes
    async with uow() as s:
        headers = await bearer(s, network.admin)
    async with httpx.AsyncClient() as http:
        assert (await http.get(f"{b.http}/api/v1/me", headers=headers)).status_code == 200
        async with uow() as s:  # 10 000 users added: 10 000 rows of news
            users = [
                User(
                    operator_id=network.operator_id,
                    account_id=network.account_id,
                    email=f"storm{i}@example.com",
                    email_normalized=f"storm{i}@example.com",
                    parent_id_tag=f"STORM{i:07d}",
                    name=f"Storm {i}",
                )
                for i in range(10_000)
            ]
            s.add_all(users)
        # B still answers, and still hears news after the storm.
        assert (await http.get(f"{b.http}/api/v1/me", headers=headers)).status_code == 200
        assert (await http.post(f"{a.http}/api/v1/auth/logout", headers=headers)).status_code == 204

        async def refused() -> bool:
            return (await http.get(f"{b.http}/api/v1/me", headers=headers)).status_code == 401

        assert await eventually(refused)


async def test_a_node_killed_mid_transaction_leaves_one_session_billed_once(
    nodes: list[ServeProcess],
    network: Network,
    uow: Uow,
    migrated: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The charger's node dies (kill -9) while it charges; the charger reconnects to another
    node and stops the transaction there: one session, priced once."""
    doomed = start_node(migrated, "node-doomed", tmp_path_factory.mktemp("doomed"))
    survivor = nodes[0]
    started_at = utcnow() - timedelta(hours=1)
    try:
        async with connected(doomed.ocpp, network.private.charge_point_id, PASSWORD) as cp:
            start = await cp.call(
                call16.StartTransaction(
                    connector_id=1,
                    id_tag=network.member_token,
                    meter_start=0,
                    timestamp=ocpp_time(started_at),
                )
            )
            doomed.stop(signal.SIGKILL)
    finally:
        doomed.stop(signal.SIGKILL)
    assert start.id_tag_info["status"] == "Accepted"

    stop = call16.StopTransaction(
        meter_stop=20_000,
        timestamp=ocpp_time(started_at + timedelta(minutes=50)),
        transaction_id=start.transaction_id,
        id_tag=network.member_token,
    )
    async with connected(survivor.ocpp, network.private.charge_point_id, PASSWORD) as cp:
        await cp.call(stop)
        await cp.call(stop)  # the charger did not hear the answer: it sends the stop again

    async with uow() as s:
        sessions = (
            (
                await s.execute(
                    select(ChargingSession).where(ChargingSession.charger_id == network.private.id)
                )
            )
            .scalars()
            .all()
        )
        rows = await s.scalar(
            select(func.count())
            .select_from(ChargerConnection)
            .where(ChargerConnection.node_id == "node-doomed")
        )
    assert [(x.energy_kwh, x.status) for x in sessions] == [(Decimal(20), "completed")]
    assert sessions[0].total is not None and sessions[0].total > 0
    # The dead node's row was replaced by the survivor's connection (and then closed).
    assert rows == 0


async def test_serve_with_two_workers_shares_the_port_and_drains_chargers_on_sigterm(
    network: Network, uow: Uow, migrated: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """``serve --workers 2``: two nodes of their own behind one port; SIGTERM closes every
    charger with 1001 (going away: reconnect elsewhere) and the whole process exits."""
    served = start_node(migrated, "pair", tmp_path_factory.mktemp("pair"), "--workers", "2")
    try:
        async with uow() as s:
            headers = await bearer(s, network.admin)

        async def both_workers_up() -> bool:
            async with uow() as s:
                names = (await s.execute(select(Node.id).where(Node.id.like("pair/%")))).all()
            return sorted(n for (n,) in names) == ["pair/w0", "pair/w1"]

        assert await eventually(both_workers_up, seconds=60)
        socket = await open_socket(served.ocpp, network.public.charge_point_id, PASSWORD)
        async with httpx.AsyncClient() as http:
            # Whichever worker answers, it sees the charger online on its sibling or itself.
            states = [
                (
                    await http.get(
                        f"{served.http}/api/v1/chargers/{network.public.id}/connection",
                        headers=headers,
                    )
                ).json()["online"]
                for _ in range(4)
            ]
        assert states == [True] * 4

        served.process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(socket.wait_closed(), WAIT_SECONDS)
        assert socket.close_code == 1001
        assert await asyncio.to_thread(served.process.wait, 30) == 0
    finally:
        served.stop(signal.SIGKILL)
    assert [node for node, _ in await connection_row(uow, network.public.id)] == []


async def test_a_reset_asked_of_one_node_reaches_the_charger_on_the_other(
    nodes: list[ServeProcess], network: Network, uow: Uow
) -> None:
    a, b = nodes
    async with uow() as s:
        headers = await bearer(s, network.admin)
    async with (
        connected(b.ocpp, network.public.charge_point_id, PASSWORD, "2.0.1") as cp,
        httpx.AsyncClient(base_url=a.http) as http,
    ):
        response = await http.post(
            f"/api/v1/chargers/{network.public.id}/reset", json={"type": "hard"}, headers=headers
        )

    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["ocpp_version"]) == ("Accepted", "2.0.1")
    assert cp.asked == [("Reset", {"type": "Immediate"})]


async def test_a_change_committed_by_any_process_reaches_the_node_holding_the_charger(
    nodes: list[ServeProcess], network: Network, uow: Uow
) -> None:
    """Not only nodes announce their commits: this process (as the command line) does too."""
    _, b = nodes
    async with connected(b.ocpp, network.private.charge_point_id, PASSWORD) as cp:
        async with uow() as s:
            access_revoked(s, operator_id=network.operator_id, charger_ids=[network.private.id])
        await asyncio.wait_for(cp.cleared.wait(), WAIT_SECONDS)

    assert cp.cleared.is_set()
