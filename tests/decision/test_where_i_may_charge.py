"""A driver's "where may I charge, and at what price?" (D2, D6, D7 for every charger)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import event

from chargegroups.auth.service import subject_for
from chargegroups.database import fetch_rows
from chargegroups.decision import loader
from chargegroups.decision.service import where_i_may_charge
from chargegroups.kit.clock import utcnow
from chargegroups.kit.pagination import PageRequest
from chargegroups.rate_plan.rules import Discount
from tests.console.helpers import console_login
from tests.fixtures.factories import (
    add_member,
    bearer,
    link_scope,
    make_account,
    make_charger,
    make_group,
    make_operator,
    make_rate_plan,
    make_user,
    set_discount,
)


async def network(s):  # type: ignore[no-untyped-def]
    world = await make_operator(s)
    acme = await make_account(s, world.operator)
    owner = await make_user(s, world.operator, acme)
    driver = await make_user(s, world.operator, acme)
    plan = await make_rate_plan(s, world.operator)
    vans = await make_group(s, world.operator, account=acme, financial_owner=owner)
    expired = await make_group(s, world.operator, account=acme)
    await add_member(s, vans, driver)
    await add_member(s, expired, driver, valid_until=utcnow() - timedelta(days=1))
    await set_discount(s, plan, vans, percent="20")
    chargers = {
        "public": await make_charger(s, world.operator, rate_plan_id=plan.id),
        "depot": await make_charger(
            s, world.operator, account=acme, access_mode="private", rate_plan_id=plan.id
        ),
        "other_private": await make_charger(s, world.operator, access_mode="private"),
        "expired_scope": await make_charger(s, world.operator, access_mode="private"),
        "closed": await make_charger(s, world.operator, access_mode="closed"),
    }
    await link_scope(s, chargers["depot"], vans)
    await link_scope(s, chargers["expired_scope"], expired)
    other = await make_operator(s)
    await make_charger(s, other.operator)  # public, but another operator's
    return world, owner, driver, vans, chargers


async def test_a_driver_sees_public_and_in_scope_chargers_with_discount_and_payer(uow) -> None:
    async with uow() as s:
        _world, owner, driver, vans, chargers = await network(s)
        subject = await subject_for(s, driver)
        page = await where_i_may_charge(s, subject, PageRequest(limit=50), at=utcnow())
    by_charger = {charger.id: decision for charger, decision in page.items}
    assert set(by_charger) == {chargers["public"].id, chargers["depot"].id}
    depot = by_charger[chargers["depot"].id]
    assert (depot.discount, depot.deciding_group_id) == (Discount.percent(Decimal("20")), vans.id)
    assert (depot.payer.kind, depot.payer.user_id) == ("financial_owner", owner.id)
    public = by_charger[chargers["public"].id]
    # The van pool pays everywhere (pays_at all_chargers) and its discount is on this plan too.
    assert public.discount == Discount.percent(Decimal("20"))


async def test_a_page_is_decided_in_as_many_statements_whatever_its_size(
    uow, engine, monkeypatch
) -> None:
    # Statements through SQLAlchemy, and the loader's reads straight on the driver, which
    # SQLAlchemy's events do not see.
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    async def counted_fetch(db, stmt, params):  # type: ignore[no-untyped-def]
        statements.append("fetch_rows")
        return await fetch_rows(db, stmt, params)

    monkeypatch.setattr(loader, "fetch_rows", counted_fetch)
    async with uow() as s:
        world, _owner, driver, _vans, chargers = await network(s)
        plan = chargers["public"].rate_plan_id
        for _ in range(6):
            await make_charger(s, world.operator, rate_plan_id=plan)
        subject = await subject_for(s, driver)
        await where_i_may_charge(s, subject, PageRequest(limit=8), at=utcnow())  # plans read
        event.listen(engine.sync_engine, "before_cursor_execute", count)
        try:
            statements.clear()
            small = await where_i_may_charge(s, subject, PageRequest(limit=2), at=utcnow())
            asked_small, statements[:] = len(statements), []
            large = await where_i_may_charge(s, subject, PageRequest(limit=8), at=utcnow())
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert (len(small.items), len(large.items)) == (2, 8)
    assert len(statements) == asked_small == 2  # the page of chargers, then all their facts


async def test_a_blocked_driver_may_charge_nowhere(uow) -> None:
    async with uow() as s:
        _world, _owner, driver, _vans, _chargers = await network(s)
        driver.blocked = True
        await s.flush()
        subject = await subject_for(s, driver)
        page = await where_i_may_charge(s, subject, PageRequest(limit=50), at=utcnow())
    assert page.items == []


async def test_the_console_home_lists_where_the_driver_may_charge(uow, client) -> None:
    async with uow() as s:
        world, _owner, driver, vans, chargers = await network(s)
        await bearer(s, driver)
    await console_login(client, world.operator, driver)
    home = await client.get("/console/")
    assert home.status_code == 200
    section = home.text[home.text.index('id="where-to-charge"') :]
    assert chargers["depot"].charge_point_id in section
    assert f"via {vans.name}" in section
    assert chargers["other_private"].charge_point_id not in section
    assert chargers["closed"].charge_point_id not in section
