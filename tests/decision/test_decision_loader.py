"""The decision against the database: the loader fetches the right facts for every rule."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import update

from chargegroups.decision import loader
from chargegroups.decision.rules import decide
from chargegroups.decision.service import decide_for_token
from chargegroups.kit.clock import utcnow
from chargegroups.models import Charger, RatePlan, RatePlanVersion
from chargegroups.rate_plan.repository import rate_plan_at_charger
from chargegroups.rate_plan.rules import Discount
from tests.fixtures.factories import (
    add_member,
    link_scope,
    make_account,
    make_active_session,
    make_charger,
    make_driver_token,
    make_group,
    make_operator,
    make_rate_plan,
    make_user,
    set_discount,
)

AT = utcnow() + timedelta(days=1)


async def _driver(s, world, *, account=None, **user_kwargs):  # type: ignore[no-untyped-def]
    account = account or await make_account(s, world.operator)
    user = await make_user(s, world.operator, account, **user_kwargs)
    token = await make_driver_token(s, user)
    return account, user, token


async def test_a_public_charger_accepts_any_valid_driver(uow) -> None:
    async with uow() as s:
        world = await make_operator(s)
        _, user, token = await _driver(s, world)
        charger = await make_charger(s, world.operator)
        d = await decide_for_token(s, charger=charger, token_uid=token.uid, at=AT)
    assert d.allowed and d.reason == "accepted_public"
    assert d.user_id == user.id and d.payer is not None and d.payer.kind == "driver"
    assert d.parent_id_tag == user.parent_id_tag


async def test_the_token_uid_is_compared_case_insensitively(uow) -> None:
    async with uow() as s:
        world = await make_operator(s)
        user = await make_user(s, world.operator, world.default_account)
        await make_driver_token(s, user, uid="AbCd1234")
        charger = await make_charger(s, world.operator)
        d = await decide_for_token(s, charger=charger, token_uid="abcd1234", at=AT)
    assert d.allowed and d.token_uid == "AbCd1234"


async def test_an_unknown_token_is_invalid(uow) -> None:
    async with uow() as s:
        world = await make_operator(s)
        charger = await make_charger(s, world.operator)
        d = await decide_for_token(s, charger=charger, token_uid="NOPE", at=AT)
    assert not d.allowed and d.reason == "token_unknown" and d.ocpp16_status == "Invalid"
    assert d.token_uid == "NOPE" and d.user_id is None


async def test_another_operators_token_is_unknown_here(uow) -> None:
    async with uow() as s:
        here = await make_operator(s)
        there = await make_operator(s)
        _, _, token = await _driver(s, there)
        charger = await make_charger(s, here.operator)
        d = await decide_for_token(s, charger=charger, token_uid=token.uid, at=AT)
    assert d.reason == "token_unknown"


async def test_a_blocked_token_is_blocked(uow) -> None:
    async with uow() as s:
        world = await make_operator(s)
        user = await make_user(s, world.operator, world.default_account)
        token = await make_driver_token(s, user, blocked=True)
        charger = await make_charger(s, world.operator)
        d = await decide_for_token(s, charger=charger, token_uid=token.uid, at=AT)
    assert d.reason == "token_blocked" and d.ocpp16_status == "Blocked"


async def test_an_expired_token_is_expired(uow) -> None:
    async with uow() as s:
        world = await make_operator(s)
        user = await make_user(s, world.operator, world.default_account)
        token = await make_driver_token(s, user, expires_at=AT - timedelta(seconds=1))
        charger = await make_charger(s, world.operator)
        d = await decide_for_token(s, charger=charger, token_uid=token.uid, at=AT)
    assert d.reason == "token_expired" and d.ocpp201_status == "Expired"


async def test_a_blocked_user_is_blocked(uow) -> None:
    async with uow() as s:
        world = await make_operator(s)
        _, _, token = await _driver(s, world, blocked=True)
        charger = await make_charger(s, world.operator)
        d = await decide_for_token(s, charger=charger, token_uid=token.uid, at=AT)
    assert d.reason == "user_blocked"


async def test_a_closed_charger_refuses_everyone(uow) -> None:
    async with uow() as s:
        world = await make_operator(s)
        _, _, token = await _driver(s, world)
        charger = await make_charger(s, world.operator, access_mode="closed")
        d = await decide_for_token(s, charger=charger, token_uid=token.uid, at=AT)
    assert d.reason == "charger_closed"
    assert (d.ocpp16_status, d.ocpp201_status) == ("Blocked", "NotAtThisLocation")


async def test_the_access_mode_is_read_afresh_not_from_the_charger_object(uow) -> None:
    async with uow() as s:
        world = await make_operator(s)
        _, _, token = await _driver(s, world)
        charger = await make_charger(s, world.operator)
    async with uow() as s:
        await s.execute(
            update(Charger).where(Charger.id == charger.id).values(access_mode="closed")
        )
    async with uow() as s:
        d = await decide_for_token(s, charger=charger, token_uid=token.uid, at=AT)
    assert d.reason == "charger_closed"


async def test_a_private_charger_refuses_a_driver_without_a_group_in_scope(uow) -> None:
    async with uow() as s:
        world = await make_operator(s)
        account, user, token = await _driver(s, world)
        outside = await make_group(s, world.operator, account=account)
        await add_member(s, outside, user)
        charger = await make_charger(s, world.operator, access_mode="private")
        d = await decide_for_token(s, charger=charger, token_uid=token.uid, at=AT)
    assert d.reason == "not_in_scope" and d.ocpp16_status == "Invalid"
    assert [(t.group_id, t.why) for t in d.trace] == [(outside.id, "not_in_charger_scope")]


async def test_a_private_charger_accepts_a_member_of_a_group_in_scope(uow) -> None:
    async with uow() as s:
        world = await make_operator(s)
        account, user, token = await _driver(s, world)
        fleet = await make_group(s, world.operator, account=account)
        await add_member(s, fleet, user)
        charger = await make_charger(s, world.operator, access_mode="private")
        await link_scope(s, charger, fleet)
        d = await decide_for_token(s, charger=charger, token_uid=token.uid, at=AT)
    assert d.reason == "accepted_via_group" and d.deciding_group_id == fleet.id
    assert d.trace[0].roles == ("grants_access", "deciding")


async def test_an_expired_membership_grants_nothing(uow) -> None:
    async with uow() as s:
        world = await make_operator(s)
        account, user, token = await _driver(s, world)
        fleet = await make_group(s, world.operator, account=account)
        await add_member(s, fleet, user, valid_until=AT - timedelta(minutes=1))
        charger = await make_charger(s, world.operator, access_mode="private")
        await link_scope(s, charger, fleet)
        d = await decide_for_token(s, charger=charger, token_uid=token.uid, at=AT)
    assert d.reason == "not_in_scope" and d.trace[0].why == "membership_expired"


async def test_the_cache_lifetime_is_bounded_by_the_operator_ttl_and_the_membership(uow) -> None:
    async with uow() as s:
        world = await make_operator(s)
        world.operator.auth_cache_ttl_seconds = 600
        account, user, token = await _driver(s, world)
        fleet = await make_group(s, world.operator, account=account)
        await add_member(s, fleet, user, valid_until=AT + timedelta(minutes=5))
        charger = await make_charger(s, world.operator, access_mode="private")
        await link_scope(s, charger, fleet)
        public = await make_charger(s, world.operator)
        private_d = await decide_for_token(s, charger=charger, token_uid=token.uid, at=AT)
        public_d = await decide_for_token(s, charger=public, token_uid=token.uid, at=AT)
    assert private_d.cache_expires_at == AT + timedelta(minutes=5)
    assert public_d.cache_expires_at == AT + timedelta(seconds=600)


async def test_a_token_in_an_unfinished_session_is_concurrent(uow) -> None:
    async with uow() as s:
        world = await make_operator(s)
        _, _, token = await _driver(s, world)
        other_token = await make_driver_token(
            s, await make_user(s, world.operator, world.default_account)
        )
        charger = await make_charger(s, world.operator)
        await make_active_session(s, charger, token)
        busy = await decide_for_token(s, charger=charger, token_uid=token.uid, at=AT)
        free = await decide_for_token(s, charger=charger, token_uid=other_token.uid, at=AT)
    assert busy.reason == "concurrent_transaction" and busy.ocpp16_status == "ConcurrentTx"
    assert free.allowed


async def test_a_finished_session_does_not_block_the_token(uow) -> None:
    async with uow() as s:
        world = await make_operator(s)
        _, _, token = await _driver(s, world)
        charger = await make_charger(s, world.operator)
        row = await make_active_session(s, charger, token)
        row.status = "completed"
        await s.flush()
        d = await decide_for_token(s, charger=charger, token_uid=token.uid, at=AT)
    assert d.allowed


async def test_d4_the_charger_override_beats_the_account_and_operator_defaults(uow) -> None:
    async with uow() as s:
        world = await make_operator(s)
        op_plan = await make_rate_plan(s, world.operator)
        acc_plan = await make_rate_plan(s, world.operator)
        override = await make_rate_plan(s, world.operator)
        world.operator.default_rate_plan_id = op_plan.id
        owner = await make_account(s, world.operator)
        owner.default_rate_plan_id = acc_plan.id
        _, _, token = await _driver(s, world)
        plain = await make_charger(s, world.operator)
        owned = await make_charger(s, world.operator, account=owner)
        overridden = await make_charger(s, world.operator, account=owner, rate_plan_id=override.id)
        await s.flush()
        plans = [
            (await decide_for_token(s, charger=c, token_uid=token.uid, at=AT)).rate_plan.id
            for c in (plain, owned, overridden)
        ]
        resolved = await rate_plan_at_charger(s, owned.id)
    assert plans == [op_plan.id, acc_plan.id, override.id]
    assert resolved is not None and resolved.rate_plan_id == acc_plan.id


async def test_without_any_rate_plan_the_decision_still_answers(uow) -> None:
    async with uow() as s:
        world = await make_operator(s)
        _, _, token = await _driver(s, world)
        charger = await make_charger(s, world.operator)
        d = await decide_for_token(s, charger=charger, token_uid=token.uid, at=AT)
    assert d.allowed and d.rate_plan.id == ""


async def test_the_decision_carries_the_plans_current_version_and_summary(uow) -> None:
    async with uow() as s:
        world = await make_operator(s)
        plan = await make_rate_plan(s, world.operator)
        s.add(
            RatePlanVersion(
                rate_plan_id=plan.id,
                version=2,
                terms={
                    "currency": "EUR",
                    "vat_percent": "21",
                    "energy": {"kind": "fixed", "price_per_kwh": "0.35"},
                },
            )
        )
        await s.execute(update(RatePlan).where(RatePlan.id == plan.id).values(current_version=2))
        _, _, token = await _driver(s, world)
        charger = await make_charger(s, world.operator, rate_plan_id=plan.id)
        d = await decide_for_token(s, charger=charger, token_uid=token.uid, at=AT)
    assert (d.rate_plan.version, d.rate_plan.summary) == (2, "0.35 EUR/kWh")


async def test_d6_the_best_discount_wins_across_global_and_account_groups(uow) -> None:
    async with uow() as s:
        world = await make_operator(s)
        plan = await make_rate_plan(s, world.operator)
        account, user, token = await _driver(s, world)
        fleet = await make_group(s, world.operator, account=account)
        everyone = await make_group(s, world.operator)
        other_plan_only = await make_group(s, world.operator)
        for g in (fleet, everyone, other_plan_only):
            await add_member(s, g, user)
        await set_discount(s, plan, fleet, percent="20")
        await set_discount(s, plan, everyone, percent="35.5")
        await set_discount(s, await make_rate_plan(s, world.operator), other_plan_only, free=True)
        charger = await make_charger(s, world.operator, rate_plan_id=plan.id)
        d = await decide_for_token(s, charger=charger, token_uid=token.uid, at=AT)
    assert d.discount == Discount.percent(Decimal("35.5"))
    assert d.deciding_group_id == everyone.id
    whys = {t.group_id: t.why for t in d.trace}
    assert whys[fleet.id] == "discount_outranked"
    assert whys[other_plan_only.id] == "no_discount_on_rate_plan"


async def test_d6_an_equal_discount_goes_to_the_account_level_group(uow) -> None:
    async with uow() as s:
        world = await make_operator(s)
        plan = await make_rate_plan(s, world.operator)
        account, user, token = await _driver(s, world)
        everyone = await make_group(s, world.operator)
        fleet = await make_group(s, world.operator, account=account)
        for g in (everyone, fleet):
            await add_member(s, g, user)
            await set_discount(s, plan, g, free=True)
        charger = await make_charger(s, world.operator, rate_plan_id=plan.id)
        d = await decide_for_token(s, charger=charger, token_uid=token.uid, at=AT)
    assert d.deciding_group_id == fleet.id and d.discount == Discount.free()


async def test_d7_a_financial_owner_pays_everywhere_by_default(uow) -> None:
    async with uow() as s:
        world = await make_operator(s)
        account, user, token = await _driver(s, world)
        boss = await make_user(s, world.operator, account)
        fleet = await make_group(s, world.operator, account=account, financial_owner=boss)
        await add_member(s, fleet, user)
        charger = await make_charger(s, world.operator)
        d = await decide_for_token(s, charger=charger, token_uid=token.uid, at=AT)
    assert d.payer is not None
    assert (d.payer.kind, d.payer.user_id, d.payer.group_id) == (
        "financial_owner",
        boss.id,
        fleet.id,
    )


async def test_d7_a_scoped_financial_owner_pays_only_where_the_scope_holds_the_group(uow) -> None:
    async with uow() as s:
        world = await make_operator(s)
        account, user, token = await _driver(s, world)
        boss = await make_user(s, world.operator, account)
        fleet = await make_group(
            s, world.operator, account=account, financial_owner=boss, pays_at="scoped_chargers"
        )
        await add_member(s, fleet, user)
        depot = await make_charger(s, world.operator)
        await link_scope(s, depot, fleet)
        street = await make_charger(s, world.operator)
        at_depot = await decide_for_token(s, charger=depot, token_uid=token.uid, at=AT)
        on_street = await decide_for_token(s, charger=street, token_uid=token.uid, at=AT)
    assert at_depot.payer is not None and at_depot.payer.user_id == boss.id
    assert on_street.payer is not None and on_street.payer.kind == "driver"
    assert on_street.trace[0].why == "financial_owner_not_covering"


async def test_deciding_for_a_user_ignores_token_state(uow) -> None:
    async with uow() as s:
        world = await make_operator(s)
        _, user, token = await _driver(s, world)
        charger = await make_charger(s, world.operator)
        await make_active_session(s, charger, token)
        d = await _decide_for_user(s, charger, user.id)
    assert d.allowed and d.token_uid is None and d.user_id == user.id


async def test_deciding_for_another_operators_user_finds_no_user(uow) -> None:
    async with uow() as s:
        here = await make_operator(s)
        there = await make_operator(s)
        charger = await make_charger(s, here.operator)
        d = await _decide_for_user(s, charger, there.admin.id)
    assert d.reason == "token_unknown" and d.user_id is None


async def _decide_for_user(session, charger, user_id):  # type: ignore[no-untyped-def]
    """The user at one charger, whatever token it presents, as "where may I charge?" asks it."""
    facts = await loader.load_for_user_at_chargers(
        session, operator_id=charger.operator_id, charger_ids=[charger.id], user_id=user_id, at=AT
    )
    return decide(facts[charger.id])
