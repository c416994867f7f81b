"""Statements from sessions: one per payer, period and currency; totals are exact sums."""

from __future__ import annotations

import asyncio
import os
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from chargegroups.auth.subject import AuthSubject
from chargegroups.billing.service import assign_to_statement, close_period
from chargegroups.errors import Conflict
from chargegroups.models import AuditEvent, ChargingSession, Statement
from chargegroups.rate_plan.rules import Discount
from tests.billing.world import (
    COST_PLUS,
    COST_PLUS_PERCENT,
    DEPOT,
    LONDON,
    PLANS,
    TOKYO,
    BillingWorld,
    build_world,
)
from tests.fixtures.factories import make_session

D = Decimal
MARCH = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


def admin_subject(world: BillingWorld) -> AuthSubject:
    return AuthSubject(
        user_id=world.admin.id,
        operator_id=world.operator.id,
        account_id=world.admin.account_id,
        is_operator_admin=True,
        admin_account_ids=frozenset(),
    )


async def statements_of(s, world: BillingWorld) -> list[Statement]:
    found = await s.execute(select(Statement).where(Statement.operator_id == world.operator.id))
    return list(found.scalars())


async def test_a_month_of_sessions_makes_one_statement_per_payer_and_currency(uow) -> None:
    async with uow() as s:
        w = await build_world(s)
        ada, bob = w.acme_drivers
        fleet = {"financial_owner": w.owner, "payer_group": w.fleet, "deciding_group": w.fleet}
        staff = {"financial_owner": w.staff_owner, "payer_group": w.staff}
        made = [
            await make_session(s, w.charger, ada, terms=DEPOT, stopped_at=MARCH, **fleet),
            await make_session(
                s, w.charger, bob, terms=DEPOT, discount=Discount.percent(D("20")),
                stopped_at=MARCH + timedelta(days=1), idle_seconds=1800, **fleet,
            ),
            await make_session(
                s, w.charger, ada, terms=COST_PLUS, stopped_at=MARCH + timedelta(days=2), **fleet
            ),
            await make_session(
                s, w.charger, bob, terms=LONDON, stopped_at=MARCH + timedelta(days=3), **staff
            ),
            await make_session(
                s, w.charger, w.self_payer, terms=TOKYO, stopped_at=MARCH + timedelta(days=4)
            ),
            await make_session(
                s, w.charger, w.self_payer, terms=COST_PLUS_PERCENT,
                stopped_at=MARCH + timedelta(days=5),
            ),
        ]  # fmt: skip
        for session in made:
            await assign_to_statement(s, session)
        statements = await statements_of(s, w)
    keys = sorted((st.payer_user_id, st.currency, st.payer_kind) for st in statements)
    assert keys == sorted(
        [
            (w.owner.id, "EUR", "financial_owner"),
            (w.staff_owner.id, "GBP", "financial_owner"),
            (w.self_payer.id, "JPY", "driver"),
            (w.self_payer.id, "EUR", "driver"),
        ]
    )
    for statement in statements:
        mine = [m for m in made if m.statement_id == statement.id]
        assert statement.subtotal == sum(m.subtotal for m in mine)
        assert statement.vat == sum(m.vat for m in mine)
        assert statement.total == sum(m.total for m in mine)


async def test_statement_vat_is_the_sum_of_session_vat_never_rounded_again(uow) -> None:
    # Two P1 sessions: 12.50 each, VAT 2.625 -> 2.62 each. The statement's VAT is 5.24, not
    # 21 % of 25.00 (5.25): each session's VAT was rounded once and a statement never re-rounds.
    async with uow() as s:
        w = await build_world(s)
        for day in (0, 1):
            session = await make_session(
                s, w.charger, w.self_payer, terms=DEPOT, energy_kwh=D("25"), idle_seconds=1800,
                stopped_at=MARCH + timedelta(days=day),
            )  # fmt: skip
            statement = await assign_to_statement(s, session)
    assert (statement.subtotal, statement.vat, statement.total) == (
        D("25.00"),
        D("5.24"),
        D("30.24"),
    )


async def test_yen_statements_have_whole_yen(uow) -> None:
    async with uow() as s:
        w = await build_world(s)
        session = await make_session(
            s, w.charger, w.self_payer, terms=TOKYO, energy_kwh=D("12.345"), stopped_at=MARCH
        )
        statement = await assign_to_statement(s, session)
    # 12.345 kWh x 33 = 407.385 -> 407; + 110 + 55 = 572; VAT 57.2 -> 57; total 629.
    assert (statement.subtotal, statement.vat, statement.total) == (D(572), D(57), D(629))


async def test_a_free_session_is_on_the_statement_with_a_zero_total(uow) -> None:
    async with uow() as s:
        w = await build_world(s)
        session = await make_session(
            s, w.charger, w.acme_drivers[0], terms=DEPOT, discount=Discount.free(),
            stopped_at=MARCH, financial_owner=w.owner, payer_group=w.fleet,
        )  # fmt: skip
        statement = await assign_to_statement(s, session)
    assert session.statement_id == statement.id
    assert statement.total == 0
    assert any(D(line["amount"]) > 0 for line in session.lines)  # the usage stays visible


async def test_the_period_is_the_month_in_the_operators_time_zone(uow) -> None:
    async with uow() as s:
        w = await build_world(s)
        # 22:30 UTC on 31 March is 00:30 on 1 April in Amsterdam (CEST, UTC+2).
        session = await make_session(
            s, w.charger, w.self_payer, terms=DEPOT,
            stopped_at=datetime(2025, 3, 31, 22, 30, tzinfo=UTC),
        )  # fmt: skip
        statement = await assign_to_statement(s, session)
    assert statement.period_start == datetime(2025, 3, 31, 22, 0, tzinfo=UTC)
    assert statement.period_end == datetime(2025, 4, 30, 22, 0, tzinfo=UTC)


async def test_assigning_a_session_again_does_not_count_it_twice(uow) -> None:
    async with uow() as s:
        w = await build_world(s)
        session = await make_session(s, w.charger, w.self_payer, terms=DEPOT, stopped_at=MARCH)
        first = await assign_to_statement(s, session)
        again = await assign_to_statement(s, session)
    assert again.id == first.id
    assert again.total == session.total


async def test_an_unfinished_session_is_not_billed(uow) -> None:
    async with uow() as s:
        w = await build_world(s)
        session = await make_session(s, w.charger, w.self_payer, terms=DEPOT, stopped_at=MARCH)
        session.status = "active"
        with pytest.raises(Conflict) as raised:
            await assign_to_statement(s, session)
    assert raised.value.code == "session_not_completed"


async def test_a_late_session_lands_in_the_next_open_period(uow) -> None:
    async with uow() as s:
        w = await build_world(s)
        on_time = await make_session(s, w.charger, w.self_payer, terms=DEPOT, stopped_at=MARCH)
        march = await assign_to_statement(s, on_time)
        await close_period(s, admin_subject(w), "2025-03")
        late = await make_session(
            s, w.charger, w.self_payer, terms=DEPOT, stopped_at=MARCH + timedelta(days=5)
        )
        april = await assign_to_statement(s, late)
    assert march.status == "closed"
    assert march.total == on_time.total  # a closed statement never changes
    assert april.period_start == march.period_end
    assert april.total == late.total


async def test_every_statement_change_is_audited_with_the_payers_account(uow) -> None:
    async with uow() as s:
        w = await build_world(s)
        session = await make_session(
            s, w.charger, w.acme_drivers[0], terms=DEPOT, stopped_at=MARCH,
            financial_owner=w.owner, payer_group=w.fleet,
        )  # fmt: skip
        statement = await assign_to_statement(s, session)
        await close_period(s, admin_subject(w), "2025-03")
        events = list(
            (
                await s.execute(select(AuditEvent).where(AuditEvent.target_id == statement.id))
            ).scalars()
        )
    assert [e.action for e in events] == [
        "statement.created",
        "statement.session_added",
        "statement.closed",
    ]
    assert {e.account_id for e in events} == {w.acme.id}


# ----------------------------------------------------------------- property over session sets

session_specs = st.lists(
    st.tuples(
        st.sampled_from(range(len(PLANS))),
        st.sampled_from([None, Discount.percent(D("20")), Discount.percent(D("12.5")),
                         Discount.free()]),
        st.decimals(min_value=D("0"), max_value=D("120"), places=3),
        st.integers(min_value=0, max_value=7200),
        st.sampled_from(["fleet", "staff", "self"]),
        st.integers(min_value=0, max_value=60 * 24 * 60),  # minutes into March and April
    ),
    min_size=1,
    max_size=12,
)  # fmt: skip


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(specs=session_specs)
async def test_every_statement_total_is_the_sum_of_its_priced_sessions(uow, specs) -> None:
    async with uow() as s:
        w = await build_world(s)
        made: list[ChargingSession] = []
        for plan, discount, kwh, idle, payer, minutes in specs:
            payer_args = {
                "fleet": {"financial_owner": w.owner, "payer_group": w.fleet},
                "staff": {"financial_owner": w.staff_owner, "payer_group": w.staff},
                "self": {},
            }[payer]
            session = await make_session(
                s, w.charger, w.acme_drivers[0], terms=PLANS[plan], discount=discount,
                energy_kwh=kwh, idle_seconds=idle,
                stopped_at=datetime(2025, 3, 1, tzinfo=UTC) + timedelta(minutes=minutes),
                **payer_args,
            )  # fmt: skip
            await assign_to_statement(s, session)
            made.append(session)
        statements = await statements_of(s, w)
    expected: dict[str, list[ChargingSession]] = defaultdict(list)
    for session in made:
        expected[session.statement_id].append(session)  # type: ignore[index]
    assert len(statements) == len(expected)
    for statement in statements:
        mine = expected[statement.id]
        assert {m.currency for m in mine} == {statement.currency}
        assert all(statement.period_start <= m.stopped_at < statement.period_end for m in mine)
        assert statement.subtotal == sum(m.subtotal for m in mine)
        assert statement.vat == sum(m.vat for m in mine)
        assert statement.total == sum(m.total for m in mine)
        assert statement.total == statement.subtotal + statement.vat


async def test_a_statement_made_in_a_rolled_back_transaction_disappears_with_it(uow) -> None:
    async with uow() as s:
        w = await build_world(s)
        made = await make_session(s, w.charger, w.self_payer, terms=DEPOT, stopped_at=MARCH)
    with pytest.raises(RuntimeError):
        async with uow() as s:
            await assign_to_statement(s, await s.get_one(ChargingSession, made.id))
            raise RuntimeError("the session's completion failed after billing")
    async with uow() as s:
        assert await statements_of(s, w) == []


@pytest.mark.skipif(
    not os.environ.get("CHARGEGROUPS_TEST_DATABASE_URL"), reason="concurrent writers: PostgreSQL"
)
async def test_sessions_completing_at_once_share_one_statement_and_both_count(uow) -> None:
    async with uow() as s:
        w = await build_world(s)
        made = [
            await make_session(s, w.charger, w.self_payer, terms=DEPOT, stopped_at=MARCH)
            for _ in range(4)
        ]

    async def bill(session_id: str) -> None:
        async with uow() as s:
            await assign_to_statement(s, await s.get_one(ChargingSession, session_id))

    await asyncio.gather(*(bill(m.id) for m in made))
    async with uow() as s:
        (statement,) = await statements_of(s, w)
    assert statement.total == sum(m.total for m in made)
