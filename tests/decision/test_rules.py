"""The pure decision: D1-D8, the trace vocabulary (D9), and its properties."""

from __future__ import annotations

import dataclasses
import json
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic_core import to_json

from chargegroups.decision.rules import (
    AccessMode,
    ChargerFacts,
    Decision,
    DecisionFacts,
    GroupFacts,
    PaysAt,
    RatePlanRef,
    TokenFacts,
    UserFacts,
    decide,
    decision_to_dict,
    explain,
    group_order_key,
)
from chargegroups.decision.schemas import DecisionOut, decision_body
from chargegroups.rate_plan.rules import Discount

AT = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
PLAN = RatePlanRef("plan-1", 3, "0.35 EUR/kWh + 1.00 EUR/session")


# --------------------------------------------------------------------------- factories


def a_group(
    id: str = "g1",
    *,
    name: str | None = None,
    account_level: bool = True,
    created_at: datetime = AT - timedelta(days=30),
    discount: Discount | None = None,
    owner: str | None = None,
    pays_at: PaysAt = "all_chargers",
    valid_until: datetime | None = None,
) -> GroupFacts:
    return GroupFacts(
        id=id,
        name=name or f"Group {id}",
        is_account_level=account_level,
        created_at=created_at,
        discount=discount,
        financial_owner_id=owner,
        pays_at=pays_at,
        membership_valid_until=valid_until,
    )


def a_charger(*, mode: AccessMode = "public", scope: frozenset[str] = frozenset()) -> ChargerFacts:
    return ChargerFacts("charger-1", mode, "acct-1", scope, PLAN)


def facts(
    *groups: GroupFacts,
    mode: AccessMode = "public",
    scope: frozenset[str] = frozenset(),
    token: TokenFacts | None = None,
    known: bool = True,
    user_blocked: bool = False,
    busy: bool = False,
    ttl: int = 900,
    at: datetime = AT,
) -> DecisionFacts:
    if token is None and known:
        token = TokenFacts("TOKEN-1", "user-1")
    return DecisionFacts(
        token=token,
        user=UserFacts("user-1", user_blocked, "PARENT-user-1") if known else None,
        charger=a_charger(mode=mode, scope=scope),
        groups=groups,
        has_unfinished_transaction=busy,
        at=at,
        cache_ttl_seconds=ttl,
        token_uid=None if known else "NOPE",
    )


def why_of(decision: Decision, group_id: str) -> str:
    return next(t.why for t in decision.trace if t.group_id == group_id)


# --------------------------------------------------------------------------- D1, D3, D2


def test_unknown_token_is_invalid() -> None:
    d = decide(facts(known=False))
    assert (d.allowed, d.reason, d.ocpp16_status, d.ocpp201_status) == (
        False,
        "token_unknown",
        "Invalid",
        "Invalid",
    )
    assert d.token_uid == "NOPE"
    assert d.user_id is None


def test_blocked_token_is_checked_before_expiry() -> None:
    token = TokenFacts("TOKEN-1", "user-1", blocked=True, expires_at=AT - timedelta(days=1))
    d = decide(facts(token=token))
    assert (d.reason, d.ocpp16_status, d.ocpp201_status) == ("token_blocked", "Blocked", "Blocked")


def test_token_expiring_exactly_now_is_expired() -> None:
    d = decide(facts(token=TokenFacts("TOKEN-1", "user-1", expires_at=AT)))
    assert (d.reason, d.ocpp16_status, d.ocpp201_status) == ("token_expired", "Expired", "Expired")


def test_blocked_user_is_blocked_even_with_a_valid_token() -> None:
    d = decide(facts(user_blocked=True))
    assert (d.allowed, d.reason, d.ocpp16_status) == (False, "user_blocked", "Blocked")


def test_closed_charger_refuses_with_not_at_this_location_and_16_blocked() -> None:
    d = decide(facts(a_group("g1"), mode="closed", scope=frozenset({"g1"})))
    assert (d.allowed, d.reason) == (False, "charger_closed")
    assert (d.ocpp16_status, d.ocpp201_status) == ("Blocked", "NotAtThisLocation")


def test_closed_charger_is_reported_before_a_concurrent_transaction() -> None:
    assert decide(facts(mode="closed", busy=True)).reason == "charger_closed"


def test_token_in_unfinished_transaction_is_concurrent_tx() -> None:
    d = decide(facts(busy=True))
    assert (d.reason, d.ocpp16_status, d.ocpp201_status) == (
        "concurrent_transaction",
        "ConcurrentTx",
        "ConcurrentTx",
    )


def test_public_charger_accepts_a_driver_without_groups() -> None:
    d = decide(facts())
    assert (d.allowed, d.reason, d.status) == (True, "accepted_public", "Accepted")
    assert d.deciding_group_id is None
    assert d.discount is None
    assert d.payer is not None and (d.payer.kind, d.payer.user_id) == ("driver", "user-1")


def test_private_charger_refuses_without_an_in_scope_group() -> None:
    d = decide(facts(a_group("g1"), mode="private", scope=frozenset({"other"})))
    assert (d.allowed, d.reason) == (False, "not_in_scope")
    assert (d.ocpp16_status, d.ocpp201_status) == ("Invalid", "NotAtThisLocation")
    assert d.payer is None and d.discount is None and d.parent_id_tag is None
    assert [(t.group_id, t.applies, t.why) for t in d.trace] == [
        ("g1", False, "not_in_charger_scope")
    ]


def test_private_charger_accepts_a_current_in_scope_member() -> None:
    d = decide(facts(a_group("g1"), mode="private", scope=frozenset({"g1"})))
    assert (d.allowed, d.reason, d.deciding_group_id) == (True, "accepted_via_group", "g1")
    assert d.trace[0].roles == ("grants_access", "deciding")


def test_decision_for_a_user_without_a_token() -> None:
    f = facts()
    f = DecisionFacts(None, f.user, f.charger, (), False, AT)
    d = decide(f)
    assert d.allowed and d.token_uid is None and d.user_id == "user-1"


# --------------------------------------------------------------------------- D5, G12


def test_membership_ending_exactly_now_no_longer_counts() -> None:
    g = a_group("g1", valid_until=AT)
    d = decide(facts(g, mode="private", scope=frozenset({"g1"})))
    assert (d.allowed, d.reason) == (False, "not_in_scope")
    assert why_of(d, "g1") == "membership_expired"


def test_membership_ending_after_now_counts_and_bounds_the_cache() -> None:
    until = AT + timedelta(minutes=5)
    d = decide(facts(a_group("g1", valid_until=until), mode="private", scope=frozenset({"g1"})))
    assert d.allowed
    assert d.cache_expires_at == until


def test_expired_membership_gives_no_discount_and_does_not_pay() -> None:
    g = a_group("g1", discount=Discount.free(), owner="boss", valid_until=AT - timedelta(1))
    d = decide(facts(g))
    assert d.discount is None and d.deciding_group_id is None
    assert d.payer is not None and d.payer.kind == "driver"


# --------------------------------------------------------------------------- D6


def test_free_beats_a_full_percentage() -> None:
    d = decide(
        facts(
            a_group("pct", discount=Discount.percent(Decimal(100))),
            a_group("free", account_level=False, discount=Discount.free()),
        )
    )
    assert d.deciding_group_id == "free"
    assert d.discount == Discount.free()


def test_higher_percentage_wins_and_discounts_never_add_up() -> None:
    d = decide(
        facts(
            a_group("ten", discount=Discount.percent(Decimal("10"))),
            a_group("twenty", discount=Discount.percent(Decimal("20.5"))),
        )
    )
    assert d.deciding_group_id == "twenty"
    assert d.discount == Discount.percent(Decimal("20.5"))
    assert why_of(d, "ten") == "discount_outranked"


def test_equal_discounts_go_to_the_account_level_group_then_the_oldest() -> None:
    old_global = a_group("gl", account_level=False, created_at=AT - timedelta(days=900))
    old_global = a_group(
        "gl", account_level=False, created_at=old_global.created_at, discount=Discount.free()
    )
    young_acct = a_group("young", created_at=AT - timedelta(days=1), discount=Discount.free())
    old_acct = a_group("old", created_at=AT - timedelta(days=2), discount=Discount.free())
    assert decide(facts(old_global, young_acct)).deciding_group_id == "young"
    assert decide(facts(old_global, young_acct, old_acct)).deciding_group_id == "old"


def test_a_discount_from_an_out_of_scope_group_applies_on_a_private_charger() -> None:
    access = a_group("access")
    vip = a_group("vip", account_level=False, discount=Discount.percent(Decimal(50)))
    d = decide(facts(access, vip, mode="private", scope=frozenset({"access"})))
    assert d.allowed and d.deciding_group_id == "vip"
    assert {t.group_id: t.roles for t in d.trace} == {
        "access": ("grants_access",),
        "vip": ("discount", "deciding"),
    }


def test_without_a_discount_the_deciding_group_is_the_first_granting_one() -> None:
    glob = a_group("glob", account_level=False, created_at=AT - timedelta(days=999))
    acct = a_group("acct", created_at=AT - timedelta(days=1))
    d = decide(facts(glob, acct, mode="private", scope=frozenset({"glob", "acct"})))
    assert d.deciding_group_id == "acct"


def test_public_charger_without_discount_has_no_deciding_group() -> None:
    d = decide(facts(a_group("g1", owner="boss")))
    assert d.deciding_group_id is None
    assert d.payer is not None and d.payer.group_id == "g1"


# --------------------------------------------------------------------------- D7


def test_the_discount_winner_pays_when_its_owner_covers_the_charger() -> None:
    first = a_group("first", created_at=AT - timedelta(days=99), owner="o1")
    winner = a_group("winner", owner="o2", discount=Discount.percent(Decimal(5)))
    d = decide(facts(first, winner))
    assert d.payer is not None
    assert (d.payer.kind, d.payer.user_id, d.payer.group_id) == ("financial_owner", "o2", "winner")
    assert why_of(d, "first") == "payer_outranked"


def test_scoped_owner_does_not_pay_outside_its_chargers() -> None:
    winner = a_group("winner", owner="o2", pays_at="scoped_chargers", discount=Discount.free())
    other = a_group("other", account_level=False, owner="o3")
    d = decide(facts(winner, other))
    assert d.payer is not None and d.payer.group_id == "other"
    d2 = decide(facts(winner))
    assert d2.payer is not None and d2.payer.kind == "driver" and d2.payer.user_id == "user-1"


def test_scoped_owner_pays_at_chargers_whose_scope_holds_the_group() -> None:
    g = a_group("g1", owner="o1", pays_at="scoped_chargers")
    d = decide(facts(g, mode="public", scope=frozenset({"g1"})))
    assert d.payer is not None and d.payer.group_id == "g1"


def test_scoped_owner_outside_scope_is_explained() -> None:
    g = a_group("g1", owner="o1", pays_at="scoped_chargers")
    assert why_of(decide(facts(g)), "g1") == "financial_owner_not_covering"


# --------------------------------------------------------------------------- D8, D9


def test_parent_id_tag_is_the_users_own() -> None:
    d = decide(facts(a_group("g1"), mode="private", scope=frozenset({"g1"})))
    assert d.parent_id_tag == "PARENT-user-1"


def test_cache_lifetime_is_bounded_by_ttl_and_token_expiry() -> None:
    assert decide(facts(ttl=60)).cache_expires_at == AT + timedelta(seconds=60)
    token = TokenFacts("TOKEN-1", "user-1", expires_at=AT + timedelta(seconds=30))
    assert decide(facts(token=token)).cache_expires_at == AT + timedelta(seconds=30)


def test_a_late_answer_counts_the_cache_lifetime_from_when_it_is_given() -> None:
    """A start reported two hours late: decided as of the start, cached from the answer on,
    never past the token's expiry (which may already be behind the answer: not cached)."""
    late = dataclasses.replace(facts(ttl=60, at=AT - timedelta(hours=2)), answered_at=AT)
    assert decide(late).cache_expires_at == AT + timedelta(seconds=60)
    gone = TokenFacts("TOKEN-1", "user-1", expires_at=AT - timedelta(hours=1))
    late_gone = dataclasses.replace(facts(token=gone, at=AT - timedelta(hours=2)), answered_at=AT)
    d = decide(late_gone)
    assert d.allowed and d.cache_expires_at == AT - timedelta(hours=1)
    early = dataclasses.replace(facts(ttl=60), answered_at=AT - timedelta(hours=1))
    assert decide(early).cache_expires_at == AT + timedelta(seconds=60)  # never before ``at``


def test_cache_lifetime_on_private_charger_lasts_while_any_granting_membership_does() -> None:
    soon = a_group("soon", valid_until=AT + timedelta(minutes=1), created_at=AT)
    later = a_group("later", valid_until=AT + timedelta(minutes=9), created_at=AT - timedelta(1))
    d = decide(facts(soon, later, mode="private", scope=frozenset({"soon", "later"})))
    # "later" is older, so it decides; access outlives "soon" thanks to "later".
    assert d.deciding_group_id == "later"
    assert d.cache_expires_at == AT + timedelta(minutes=9)


def test_trace_is_filled_on_a_refusal_before_groups() -> None:
    d = decide(
        facts(
            a_group("in"),
            a_group("out"),
            a_group("old", valid_until=AT),
            mode="private",
            scope=frozenset({"in", "old"}),
            busy=True,
        )
    )
    assert [(t.group_id, t.applies, t.why) for t in d.trace] == [
        ("in", False, "decision_refused"),
        ("out", False, "not_in_charger_scope"),
        ("old", False, "membership_expired"),
    ]


def test_group_without_anything_to_give_is_explained() -> None:
    assert why_of(decide(facts(a_group("plain"))), "plain") == "no_discount_on_rate_plan"


def test_explain_names_groups_discount_and_payer() -> None:
    vip = a_group("vip", name="VIP drivers", discount=Discount.percent(Decimal(20)), owner="o")
    text = explain(decide(facts(vip, a_group("x", name="Night shift", valid_until=AT))))
    assert text[0].startswith("Allowed: this is a public charger")
    assert any("20 %" in line and "VIP drivers" in line for line in text)
    assert any(line.startswith("Paid by group \u201cVIP drivers\u201d") for line in text)
    assert any("Night shift" in line and "expired" in line for line in text)


def test_explain_a_refusal() -> None:
    text = explain(decide(facts(a_group("g"), mode="private")))
    assert text[0].startswith("Refused: this is a private charger")
    assert "not in this charger's scope" in text[1]


def test_decision_to_dict_has_the_api_shape() -> None:
    vip = a_group("vip", discount=Discount.percent(Decimal(20)), owner="o")
    out = decision_to_dict(decide(facts(vip)))
    assert out["discount"] == {"percent": "20"}
    assert out["payer"] == {"kind": "financial_owner", "user_id": "o", "group_id": "vip"}
    assert out["rate_plan"] == {"id": "plan-1", "version": 3, "summary": PLAN.summary}
    assert out["trace"][0]["why"] == "applies"
    assert out["reason"] == "accepted_public"
    assert out["cache_expires_at"] == (AT + timedelta(seconds=900)).isoformat()


def test_group_order_key_puts_account_level_then_oldest_first() -> None:
    a = a_group("a", account_level=False, created_at=AT - timedelta(days=9))
    b = a_group("b", created_at=AT)
    c = a_group("c", created_at=AT - timedelta(days=1))
    assert [g.id for g in sorted([a, b, c], key=group_order_key)] == ["c", "b", "a"]


# --------------------------------------------------------------------------- properties

discounts = st.one_of(
    st.none(),
    st.just(Discount.free()),
    st.integers(1, 10000).map(lambda h: Discount.percent(Decimal(h) / 100)),
    st.sampled_from([Decimal(10), Decimal(20), Decimal(100)]).map(Discount.percent),
)
moments = st.sampled_from([AT - timedelta(days=2), AT - timedelta(days=1), AT])


@st.composite
def group_lists(draw: st.DrawFn) -> tuple[GroupFacts, ...]:
    ids = draw(st.lists(st.sampled_from("abcdefgh"), unique=True, max_size=6))
    return tuple(
        GroupFacts(
            id=gid,
            name=gid.upper(),
            is_account_level=draw(st.booleans()),
            created_at=draw(moments),
            discount=draw(discounts),
            financial_owner_id=draw(st.none() | st.sampled_from(["o1", "o2"])),
            pays_at=draw(st.sampled_from(["all_chargers", "scoped_chargers"])),
            membership_valid_until=draw(
                st.none() | st.sampled_from([AT - timedelta(1), AT, AT + timedelta(hours=1)])
            ),
        )
        for gid in ids
    )


@st.composite
def decision_facts(draw: st.DrawFn) -> DecisionFacts:
    groups = draw(group_lists())
    return DecisionFacts(
        token=TokenFacts("T", "user-1"),
        user=UserFacts("user-1", False, draw(st.sampled_from(["PT-1", "a", "b"]))),
        charger=ChargerFacts(
            "c1",
            draw(st.sampled_from(["public", "private", "closed"])),
            None,
            frozenset(draw(st.sets(st.sampled_from("abcdefgh")))),
            PLAN,
        ),
        groups=groups,
        has_unfinished_transaction=draw(st.booleans()),
        at=AT,
    )


def is_current(g: GroupFacts) -> bool:
    return g.membership_valid_until is None or g.membership_valid_until > AT


def covers(g: GroupFacts, f: DecisionFacts) -> bool:
    return g.financial_owner_id is not None and (
        g.pays_at == "all_chargers" or g.id in f.charger.scope_group_ids
    )


@settings(max_examples=300)
@given(decision_facts(), st.randoms(use_true_random=False))
def test_the_outcome_does_not_depend_on_the_order_groups_are_listed(
    f: DecisionFacts, rnd: random.Random
) -> None:
    shuffled = list(f.groups)
    rnd.shuffle(shuffled)
    a = decide(f)
    b = decide(replace(f, groups=tuple(shuffled)))
    assert (a.allowed, a.reason, a.deciding_group_id, a.discount, a.payer) == (
        b.allowed,
        b.reason,
        b.deciding_group_id,
        b.discount,
        b.payer,
    )
    assert a.cache_expires_at == b.cache_expires_at
    assert sorted(a.trace) == sorted(b.trace)


@given(decision_facts())
def test_no_private_charger_accepts_without_a_current_in_scope_membership(
    f: DecisionFacts,
) -> None:
    d = decide(f)
    if f.charger.access_mode == "private" and d.allowed:
        assert any(is_current(g) and g.id in f.charger.scope_group_ids for g in f.groups)
    if f.charger.access_mode == "private" and not f.has_unfinished_transaction:
        has_access = any(is_current(g) and g.id in f.charger.scope_group_ids for g in f.groups)
        assert d.allowed == has_access


@given(decision_facts())
def test_an_expired_membership_never_decides_pays_or_grants(f: DecisionFacts) -> None:
    d = decide(f)
    expired = {g.id for g in f.groups if not is_current(g)}
    assert d.deciding_group_id not in expired
    assert d.payer is None or d.payer.group_id not in expired
    for t in d.trace:
        if t.group_id in expired:
            assert (t.applies, t.why, t.roles) == (False, "membership_expired", ())
    # and dropping expired memberships changes nothing
    current = tuple(g for g in f.groups if is_current(g))
    e = decide(replace(f, groups=current))
    assert (d.allowed, d.deciding_group_id, d.discount, d.payer) == (
        e.allowed,
        e.deciding_group_id,
        e.discount,
        e.payer,
    )


@given(decision_facts())
def test_discount_and_payer_follow_d6_and_d7(f: DecisionFacts) -> None:
    d = decide(f)
    if not d.allowed:
        assert d.discount is None and d.payer is None and d.deciding_group_id is None
        return
    current = sorted((g for g in f.groups if is_current(g)), key=group_order_key)
    with_discount = [g for g in current if g.discount is not None]
    winner = (
        max(with_discount, key=lambda g: g.discount.strength if g.discount else 0)
        if with_discount
        else None
    )
    # max() keeps the first of equals, and `current` is in tie order
    assert d.discount == (winner.discount if winner else None)
    if winner is not None:
        assert d.deciding_group_id == winner.id
    elif f.charger.access_mode == "private":
        granting = [g for g in current if g.id in f.charger.scope_group_ids]
        assert d.deciding_group_id == granting[0].id
    else:
        assert d.deciding_group_id is None
    covering = [g for g in current if covers(g, f)]
    assert d.payer is not None
    expected: GroupFacts | None
    if winner is not None and winner in covering:
        expected = winner
    else:
        expected = covering[0] if covering else None
    if expected is None:
        assert (d.payer.kind, d.payer.user_id, d.payer.group_id) == ("driver", "user-1", None)
    else:
        assert (d.payer.kind, d.payer.user_id, d.payer.group_id) == (
            "financial_owner",
            expected.financial_owner_id,
            expected.id,
        )


@given(decision_facts())
def test_a_closed_charger_always_refuses(f: DecisionFacts) -> None:
    closed = ChargerFacts("c1", "closed", None, f.charger.scope_group_ids, PLAN)
    d = decide(replace(f, charger=closed))
    assert not d.allowed
    assert d.reason == "charger_closed"
    assert d.ocpp201_status == "NotAtThisLocation"


@given(decision_facts())
def test_parent_id_tag_is_never_a_group_id(f: DecisionFacts) -> None:
    d = decide(f)
    assert f.user is not None
    if d.allowed:
        assert d.parent_id_tag == f.user.parent_id_tag
        if f.user.parent_id_tag not in {g.id for g in f.groups}:
            assert d.parent_id_tag not in {g.id for g in f.groups}
    else:
        assert d.parent_id_tag is None


@given(decision_facts())
def test_trace_has_one_entry_per_group_and_roles_only_when_applying(f: DecisionFacts) -> None:
    d = decide(f)
    assert [t.group_id for t in d.trace] == [g.id for g in f.groups]
    for t in d.trace:
        assert t.applies == (t.why == "applies") == bool(t.roles)
        if not d.allowed:
            assert not t.applies


@given(decision_facts())
def test_the_apis_plain_answer_is_exactly_the_documented_model(f: DecisionFacts) -> None:
    """The endpoint writes ``decision_body`` to JSON without validating it: it must be what
    ``DecisionOut`` (the OpenAPI response) accepts, field for field."""
    d = decide(f)
    written = to_json(decision_body(d))
    assert DecisionOut.model_validate_json(written, strict=True) == DecisionOut.build(d)
    assert json.loads(written) == DecisionOut.build(d).model_dump(mode="json")
