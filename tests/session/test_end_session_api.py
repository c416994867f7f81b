"""POST /sessions/{id}/end: operator admins end a session by hand (issue 23, finding 2)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.kit.clock import utcnow
from chargegroups.models import AuditEvent, ChargingSession, User
from tests.fixtures import factories as f
from tests.fixtures.factories import bearer

Uow = Callable[[], AbstractAsyncContextManager[AsyncSession]]


@dataclass(frozen=True, slots=True)
class World:
    op_admin: User
    account_admin: User
    driver: User
    other_operator_admin: User
    session_id: str


async def world(uow: Uow) -> World:
    async with uow() as s:
        op = await f.make_operator(s)
        account = await f.make_account(s, op.operator)
        plan = await f.make_rate_plan(s, op.operator)
        account_admin = await f.make_user(s, op.operator, account, admin_of=(account,))
        driver = await f.make_user(s, op.operator, account)
        charger = await f.make_charger(s, op.operator, account=account, rate_plan_id=plan.id)
        started_at = utcnow() - timedelta(hours=30)
        row = ChargingSession(
            operator_id=op.operator.id,
            charger_id=charger.id,
            account_id=account.id,
            evse_id=1,
            connector_id=1,
            transaction_id="1",
            user_id=driver.id,
            token_uid="TOKEN",
            status="active",
            started_at=started_at,
            meter_start_wh=1000,
            meter_last_wh=9000,
            meter_last_at=started_at + timedelta(hours=2),
            payer_kind="driver",
            payer_user_id=driver.id,
            rate_plan_id=plan.id,
            rate_plan_version=1,
            currency="EUR",
        )
        s.add(row)
        await s.flush()
        far = await f.make_operator(s)
        return World(op.admin, account_admin, driver, far.admin, row.id)


async def end(
    uow: Uow, client: httpx.AsyncClient, user: User, session_id: str, reason: str = "stuck"
) -> httpx.Response:
    async with uow() as s:
        headers = await bearer(s, user)
    return await client.post(
        f"/api/v1/sessions/{session_id}/end", json={"reason": reason}, headers=headers
    )


async def test_an_operator_admin_ends_a_session_at_its_last_meter_value(
    uow: Uow, client: httpx.AsyncClient
) -> None:
    w = await world(uow)

    response = await end(uow, client, w.op_admin, w.session_id, "charger lost it")

    body = response.json()
    assert response.status_code == 200, body
    assert (body["status"], body["ended_by"], body["end_reason"]) == (
        "completed",
        "operator",
        "charger lost it",
    )
    assert body["energy_kwh"] == "8"
    assert body["total"]["amount"] is not None
    async with uow() as s:
        row = await s.get_one(ChargingSession, w.session_id)
        (event,) = (
            await s.execute(select(AuditEvent).where(AuditEvent.target_id == w.session_id))
        ).scalars()
    assert row.stopped_at == row.started_at + timedelta(hours=2)
    assert row.statement_id is not None
    assert (event.action, event.actor_id) == ("session.ended_by_operator", w.op_admin.id)
    assert event.after is not None and event.after["reason"] == "charger lost it"


async def test_a_session_already_ended_is_a_conflict(uow: Uow, client: httpx.AsyncClient) -> None:
    w = await world(uow)
    assert (await end(uow, client, w.op_admin, w.session_id)).status_code == 200

    again = await end(uow, client, w.op_admin, w.session_id)

    assert (again.status_code, again.json()["code"]) == (409, "session_already_ended")


async def test_who_may_not_end_a_session_they_can_see_is_forbidden(
    uow: Uow, client: httpx.AsyncClient
) -> None:
    w = await world(uow)

    for user in (w.account_admin, w.driver):
        response = await end(uow, client, user, w.session_id)
        assert response.status_code == 403, response.text
    async with uow() as s:
        assert (await s.get_one(ChargingSession, w.session_id)).stopped_at is None


async def test_a_session_outside_reach_is_not_found(uow: Uow, client: httpx.AsyncClient) -> None:
    w = await world(uow)

    response = await end(uow, client, w.other_operator_admin, w.session_id)

    assert response.status_code == 404
    async with uow() as s:
        assert (await s.get_one(ChargingSession, w.session_id)).stopped_at is None


async def test_a_reason_is_required(uow: Uow, client: httpx.AsyncClient) -> None:
    w = await world(uow)

    response = await end(uow, client, w.op_admin, w.session_id, "")

    assert response.status_code == 422
