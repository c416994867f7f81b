"""GET /sessions and /sessions/{id}: each caller sees the sessions within its reach (R3)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from decimal import Decimal

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.kit.clock import utcnow
from chargegroups.models import Charger, ChargingSession, User
from tests.fixtures import factories as f
from tests.fixtures.factories import bearer

Uow = Callable[[], AbstractAsyncContextManager[AsyncSession]]


async def completed(
    s: AsyncSession, charger: Charger, driver: User, *, payer: User | None = None
) -> ChargingSession:
    now = utcnow()
    row = ChargingSession(
        operator_id=charger.operator_id,
        charger_id=charger.id,
        account_id=charger.account_id,
        evse_id=1,
        connector_id=1,
        transaction_id=f"{charger.id[-6:]}-{driver.id[-6:]}",
        user_id=driver.id,
        token_uid="TOKEN",
        status="completed",
        started_at=now,
        stopped_at=now,
        energy_kwh=Decimal("25"),
        payer_kind="financial_owner" if payer else "driver",
        payer_user_id=(payer or driver).id,
        currency="EUR",
        lines=[{"kind": "energy", "description": "Energy", "amount": "10.00"}],
        subtotal=Decimal("10.00"),
        vat=Decimal("2.10"),
        total=Decimal("12.10"),
    )
    s.add(row)
    await s.flush()
    return row


@dataclass(frozen=True, slots=True)
class World:
    op_admin: User
    acme_admin: User
    driver: User
    other_driver: User
    owner: User
    at_acme_charger: str  # other_driver (not an Acme member) at Acme's charger
    by_acme_member: str  # driver (an Acme member) at the operator's own charger
    elsewhere: str  # other_driver at the operator's charger, paid by owner
    other_operator: str


async def world(uow: Uow) -> World:
    async with uow() as s:
        op = await f.make_operator(s)
        acme = await f.make_account(s, op.operator)
        globex = await f.make_account(s, op.operator)
        acme_admin = await f.make_user(s, op.operator, acme, admin_of=(acme,))
        driver = await f.make_user(s, op.operator, acme)
        other_driver = await f.make_user(s, op.operator, globex)
        owner = await f.make_user(s, op.operator, globex)
        acme_charger = await f.make_charger(s, op.operator, account=acme)
        own_charger = await f.make_charger(s, op.operator)
        a = await completed(s, acme_charger, other_driver)
        b = await completed(s, own_charger, driver)
        c = await completed(s, own_charger, other_driver, payer=owner)
        far = await f.make_operator(s)
        far_charger = await f.make_charger(s, far.operator)
        d = await completed(s, far_charger, far.admin)
    return World(op.admin, acme_admin, driver, other_driver, owner, a.id, b.id, c.id, d.id)


async def listed(client: httpx.AsyncClient, uow: Uow, user: User) -> set[str]:
    async with uow() as s:
        headers = await bearer(s, user)
    response = await client.get("/api/v1/sessions", headers=headers)
    assert response.status_code == 200
    return {item["id"] for item in response.json()["items"]}


async def test_operator_admin_lists_every_session_of_its_operator(
    uow: Uow, client: httpx.AsyncClient
) -> None:
    w = await world(uow)

    assert await listed(client, uow, w.op_admin) == {
        w.at_acme_charger,
        w.by_acme_member,
        w.elsewhere,
    }


async def test_account_admin_lists_sessions_at_its_chargers_and_by_its_members(
    uow: Uow, client: httpx.AsyncClient
) -> None:
    w = await world(uow)

    assert await listed(client, uow, w.acme_admin) == {w.at_acme_charger, w.by_acme_member}


async def test_driver_lists_only_its_own_sessions(uow: Uow, client: httpx.AsyncClient) -> None:
    w = await world(uow)

    assert await listed(client, uow, w.driver) == {w.by_acme_member}


async def test_financial_owner_lists_the_sessions_it_pays(
    uow: Uow, client: httpx.AsyncClient
) -> None:
    w = await world(uow)

    assert await listed(client, uow, w.owner) == {w.elsewhere}


async def test_session_outside_the_callers_reach_is_not_found(
    uow: Uow, client: httpx.AsyncClient
) -> None:
    w = await world(uow)
    async with uow() as s:
        headers = await bearer(s, w.acme_admin)

    response = await client.get(f"/api/v1/sessions/{w.elsewhere}", headers=headers)

    assert response.status_code == 404


async def test_session_of_another_operator_is_not_found_even_for_its_admin(
    uow: Uow, client: httpx.AsyncClient
) -> None:
    w = await world(uow)
    async with uow() as s:
        headers = await bearer(s, w.op_admin)

    response = await client.get(f"/api/v1/sessions/{w.other_operator}", headers=headers)

    assert response.status_code == 404


async def test_session_has_the_api_shape(uow: Uow, client: httpx.AsyncClient) -> None:
    w = await world(uow)
    async with uow() as s:
        headers = await bearer(s, w.owner)

    body = (await client.get(f"/api/v1/sessions/{w.elsewhere}", headers=headers)).json()

    assert body["payer"] == {"kind": "financial_owner", "user_id": w.owner.id, "group_id": None}
    assert (body["energy_kwh"], body["vat"], body["total"]) == (
        "25",
        "2.10",
        {"amount": "12.10", "currency": "EUR"},
    )
    assert body["lines"] == [{"kind": "energy", "description": "Energy", "amount": "10.00"}]
    assert {"charge_point_id", "transaction_id", "rate_plan", "status"} <= body.keys()


async def test_sessions_page_by_cursor(uow: Uow, client: httpx.AsyncClient) -> None:
    w = await world(uow)
    async with uow() as s:
        headers = await bearer(s, w.op_admin)

    first = (await client.get("/api/v1/sessions?limit=2", headers=headers)).json()
    rest = (
        await client.get(f"/api/v1/sessions?limit=2&cursor={first['next_cursor']}", headers=headers)
    ).json()

    assert len(first["items"]) == 2 and len(rest["items"]) == 1
    assert rest["next_cursor"] is None


async def test_sessions_need_credentials(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/sessions")).status_code == 401
