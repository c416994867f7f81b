"""The real application served by uvicorn on a loopback port, for real OCPP WebSockets."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

import pytest
import uvicorn
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.app import create_app
from chargegroups.config import Settings
from chargegroups.models import Charger, User
from tests.fixtures import factories as f
from tests.fixtures.factories import DEPOT_TERMS


@pytest.fixture(scope="session")
def ocpp_url(settings: Settings) -> Iterator[str]:
    """``ws://127.0.0.1:PORT/ocpp`` of a server running in a background thread."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # A node id of its own: other servers of this run (the browser tests') are other nodes.
    app = create_app(settings.model_copy(update={"node_id": "tests-ocpp"}))
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:  # readiness, not timing: bounded wait for the server to listen
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    yield f"ws://127.0.0.1:{port}/ocpp"
    server.should_exit = True
    thread.join(timeout=30)
    sock.close()


@dataclass(frozen=True, slots=True)
class Network:
    """One operator: a 'Depot' plan (P1-P3), a fleet group with 20 % off and chargers in each
    access mode; ``member`` is in the fleet group (in the private charger's scope), ``outsider``
    is not."""

    operator_id: str
    account_id: str
    admin: User
    account_admin: User
    member: User
    outsider: User
    member_token: str
    outsider_token: str
    group_id: str
    plan_id: str
    public: Charger
    private: Charger
    closed: Charger


DEPOT_WITH_IDLE = {
    **DEPOT_TERMS,
    "idle_fee": {"per_minute": "0.10", "grace_minutes": 15},
}


@pytest.fixture
async def network(uow: Callable[[], AbstractAsyncContextManager[AsyncSession]]) -> Network:
    async with uow() as s:
        world = await f.make_operator(s)
        account = await f.make_account(s, world.operator)
        plan = await f.make_rate_plan(s, world.operator, terms=DEPOT_WITH_IDLE)
        group = await f.make_group(s, world.operator, account=account)
        await f.set_discount(s, plan, group, percent="20")
        account_admin = await f.make_user(s, world.operator, account, admin_of=(account,))
        member = await f.make_user(s, world.operator, account)
        outsider = await f.make_user(s, world.operator, account)
        await f.add_member(s, group, member)
        member_token = await f.make_driver_token(s, member)
        outsider_token = await f.make_driver_token(s, outsider)
        chargers = {
            mode: await f.make_charger(
                s, world.operator, account=account, access_mode=mode, rate_plan_id=plan.id
            )
            for mode in ("public", "private", "closed")
        }
        await f.link_scope(s, chargers["private"], group)
    return Network(
        operator_id=world.operator.id,
        account_id=account.id,
        admin=world.admin,
        account_admin=account_admin,
        member=member,
        outsider=outsider,
        member_token=member_token.uid,
        outsider_token=outsider_token.uid,
        group_id=group.id,
        plan_id=plan.id,
        public=chargers["public"],
        private=chargers["private"],
        closed=chargers["closed"],
    )
