"""Property: loader + core agree with a naive reading of D1-D7 on small random worlds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chargegroups.decision.service import decide_for_token
from chargegroups.kit.clock import utcnow
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

AT = utcnow().replace(microsecond=0) + timedelta(days=1)
BASE = AT - timedelta(days=30)


@dataclass(frozen=True)
class G:
    account_level: bool
    created: int  # days after BASE; equal values exercise the id tie-break
    owner: bool
    scoped_payer: bool
    discount: str | None  # "5" | "20" | "free" | None
    discount_plan: int  # which of the three plans the discount is on
    in_scope: bool
    until: int | None  # membership valid_until in minutes from AT (<= 0: expired)


@dataclass(frozen=True)
class World:
    groups: list[G]
    mode: str
    token_blocked: bool
    token_expired: bool
    user_blocked: bool
    busy: bool
    plans: tuple[bool, bool, bool]  # charger override, account default, operator default


groups = st.builds(
    G,
    account_level=st.booleans(),
    created=st.integers(0, 2),
    owner=st.booleans(),
    scoped_payer=st.booleans(),
    discount=st.sampled_from([None, "5", "20", "free"]),
    discount_plan=st.integers(0, 2),
    in_scope=st.booleans(),
    until=st.sampled_from([None, None, -5, 0, 30]),
)
worlds = st.builds(
    World,
    groups=st.lists(groups, max_size=4),
    mode=st.sampled_from(["public", "private", "private", "closed"]),
    token_blocked=st.sampled_from([False, False, False, True]),
    token_expired=st.sampled_from([False, False, False, True]),
    user_blocked=st.sampled_from([False, False, False, True]),
    busy=st.sampled_from([False, False, False, True]),
    plans=st.tuples(st.booleans(), st.booleans(), st.booleans()),
)


def _reference(w: World, ids: list[str], plan_ids: list[str], user_id: str, owner_id: str):  # type: ignore[no-untyped-def]
    """(reason, deciding group, discount, payer (user, group), plan id), straight from the text."""
    override, account_default, operator_default = w.plans
    plan = next(
        (
            p
            for p, on in zip(plan_ids, (override, account_default, operator_default), strict=True)
            if on
        ),
        "",
    )
    if w.token_blocked:
        return ("token_blocked", None, None, None, plan)
    if w.token_expired:
        return ("token_expired", None, None, None, plan)
    if w.user_blocked:
        return ("user_blocked", None, None, None, plan)
    if w.mode == "closed":
        return ("charger_closed", None, None, None, plan)
    if w.busy:
        return ("concurrent_transaction", None, None, None, plan)
    current = [(g, i) for g, i in zip(w.groups, ids, strict=True) if g.until is None or g.until > 0]
    order = lambda gi: (not gi[0].account_level, gi[0].created, gi[1])  # noqa: E731
    granting = sorted((gi for gi in current if gi[0].in_scope), key=order)
    if w.mode == "private" and not granting:
        return ("not_in_scope", None, None, None, plan)
    strength = {"free": 10001, "20": 2000, "5": 500}
    discounted = [
        gi
        for gi in current
        if gi[0].discount is not None and plan and plan_ids[gi[0].discount_plan] == plan
    ]
    best = min(discounted, key=lambda gi: (-strength[gi[0].discount], order(gi)), default=None)  # type: ignore[index]
    covering = [gi for gi in current if gi[0].owner and (not gi[0].scoped_payer or gi[0].in_scope)]
    payer_gi = best if best in covering else min(covering, key=order, default=None)
    deciding = best or (granting[0] if w.mode == "private" else None)
    reason = "accepted_via_group" if w.mode == "private" else "accepted_public"
    payer = (owner_id, payer_gi[1]) if payer_gi else (user_id, None)
    return (
        reason,
        deciding[1] if deciding else None,
        best[0].discount if best else None,
        payer,
        plan,
    )


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=worlds)
async def test_loader_and_core_agree_with_a_naive_reference(uow, world: World) -> None:
    async with uow() as s:
        op = await make_operator(s)
        account = await make_account(s, op.operator)
        plans = [await make_rate_plan(s, op.operator) for _ in range(3)]
        if world.plans[1]:
            account.default_rate_plan_id = plans[1].id
        if world.plans[2]:
            op.operator.default_rate_plan_id = plans[2].id
        user = await make_user(s, op.operator, account, blocked=world.user_blocked)
        owner = await make_user(s, op.operator, account)
        token = await make_driver_token(
            s,
            user,
            blocked=world.token_blocked,
            expires_at=AT - timedelta(minutes=1) if world.token_expired else None,
        )
        charger = await make_charger(
            s,
            op.operator,
            account=account,
            access_mode=world.mode,
            rate_plan_id=plans[0].id if world.plans[0] else None,
        )
        ids = []
        for g in world.groups:
            group = await make_group(
                s,
                op.operator,
                account=account if g.account_level else None,
                financial_owner=owner if g.owner else None,
                pays_at="scoped_chargers" if g.scoped_payer else "all_chargers",
                created_at=BASE + timedelta(days=g.created),
            )
            ids.append(group.id)
            until = None if g.until is None else AT + timedelta(minutes=g.until)
            await add_member(s, group, user, valid_until=until)
            if g.in_scope:
                await link_scope(s, charger, group)
            if g.discount is not None:
                await set_discount(
                    s,
                    plans[g.discount_plan],
                    group,
                    percent=None if g.discount == "free" else g.discount,
                    free=g.discount == "free",
                )
        if world.busy:
            await make_active_session(s, charger, token)
        await s.flush()
        d = await decide_for_token(s, charger=charger, token_uid=token.uid, at=AT)
    got = (
        d.reason,
        d.deciding_group_id,
        None if d.discount is None else d.discount.to_dict().get("percent", "free"),
        None if d.payer is None else (d.payer.user_id, d.payer.group_id),
        d.rate_plan.id,
    )
    assert got == _reference(world, ids, [p.id for p in plans], user.id, owner.id)
