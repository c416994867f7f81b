"""Pricing (P0) with the worked examples P1-P5, rounding edges, windows and properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chargegroups.kit.money import InvalidAmount, UnknownCurrency, parse_amount, quantize
from chargegroups.rate_plan.rules import (
    CostPlus,
    CostPlusPercent,
    Discount,
    Energy,
    Fixed,
    IdleFee,
    PricedSession,
    RatePlanTerms,
    ScheduleWindow,
    SessionMeasurements,
    TimeOfDayPrice,
    price_session,
    priced_session_to_dict,
    summary,
    terms_from_dict,
    terms_to_dict,
)

D = Decimal
START = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)  # a Monday


def terms(
    energy: Energy | None = None,
    *,
    currency: str = "EUR",
    vat: str = "21",
    connection_fee: str | None = None,
    time_fee: str | None = None,
    idle: IdleFee | None = None,
) -> RatePlanTerms:
    return RatePlanTerms(
        currency=currency,
        vat_percent=D(vat),
        energy=energy or Fixed(D("0.40")),
        connection_fee=None if connection_fee is None else D(connection_fee),
        time_fee_per_hour=None if time_fee is None else D(time_fee),
        idle_fee=idle,
    )


def session(
    *,
    kwh: str = "25",
    charging_seconds: int = 7200,
    idle_seconds: int = 0,
    started_at: datetime = START,
    stopped_at: datetime | None = None,
    idle_started_at: datetime | None = None,
    tz: str = "UTC",
) -> SessionMeasurements:
    return SessionMeasurements(
        started_at=started_at,
        stopped_at=stopped_at or started_at + timedelta(seconds=charging_seconds),
        energy_kwh=D(kwh),
        charging_seconds=charging_seconds,
        idle_seconds=idle_seconds,
        idle_started_at=idle_started_at,
        timezone=tz,
    )


DEPOT = terms(connection_fee="1.00", idle=IdleFee(D("0.10"), 15))
DEPOT_SESSION = session(idle_seconds=30 * 60)


def amounts(p: PricedSession) -> list[tuple[str, str]]:
    return [(line.kind, str(line.amount)) for line in p.lines]


# --------------------------------------------------------------------------- P1-P5


def test_p1_no_discount() -> None:
    p = price_session(DEPOT, None, DEPOT_SESSION)
    assert amounts(p) == [("energy", "10.00"), ("connection_fee", "1.00"), ("idle_fee", "1.50")]
    assert (p.subtotal, p.vat, p.total) == (D("12.50"), D("2.62"), D("15.12"))


def test_p2_twenty_percent_touches_only_energy() -> None:
    p = price_session(DEPOT, Discount.percent(D(20)), DEPOT_SESSION)
    assert amounts(p)[-1] == ("discount", "-2.00")
    assert p.lines[-1].applies_to == "energy"
    assert (p.subtotal, p.vat, p.total) == (D("10.50"), D("2.20"), D("12.70"))


def test_p3_free_has_a_matching_line_for_every_line() -> None:
    p = price_session(DEPOT, Discount.free(), DEPOT_SESSION)
    charged = [line for line in p.lines if line.kind != "discount"]
    reductions = [line for line in p.lines if line.kind == "discount"]
    assert [(r.applies_to, r.amount) for r in reductions] == [(c.kind, -c.amount) for c in charged]
    assert (p.subtotal, p.vat, p.total) == (D("0.00"), D("0.00"), D("0.00"))


def test_p4_cost_plus_discount_only_on_margin() -> None:
    t = terms(CostPlus(D("0.15"), D("0.10")))
    p = price_session(t, Discount.percent(D(20)), session())
    assert amounts(p) == [
        ("energy_cost", "3.75"),
        ("energy_margin", "2.50"),
        ("discount", "-0.50"),
    ]
    assert (p.subtotal, p.vat, p.total) == (D("5.75"), D("1.21"), D("6.96"))


def test_p5_cost_plus_percent_rounds_margin_then_discount_half_even() -> None:
    t = terms(CostPlusPercent(D("0.15"), D("30")))
    p = price_session(t, Discount.percent(D(20)), session())
    assert amounts(p) == [
        ("energy_cost", "3.75"),
        ("energy_margin", "1.12"),
        ("discount", "-0.22"),
    ]
    assert (p.subtotal, p.vat, p.total) == (D("4.65"), D("0.98"), D("5.63"))


# --------------------------------------------------------------------------- rounding


def test_each_line_rounds_half_even_to_the_minor_unit() -> None:
    # 0.125 -> 0.12 and 0.375 -> 0.38 (half to even), not always up
    assert price_session(terms(Fixed(D("0.125"))), None, session(kwh="1")).subtotal == D("0.12")
    assert price_session(terms(Fixed(D("0.375"))), None, session(kwh="1")).subtotal == D("0.38")


def test_vat_is_rounded_once_on_the_sum() -> None:
    # two lines of 0.05 with 10 % VAT: per line 0.005 -> 0.00 each, once on 0.10 -> 0.01
    t = terms(Fixed(D("0.05")), vat="10", connection_fee="0.05")
    p = price_session(t, None, session(kwh="1"))
    assert (p.subtotal, p.vat, p.total) == (D("0.10"), D("0.01"), D("0.11"))


def test_jpy_has_no_minor_unit() -> None:
    t = terms(Fixed(D("35")), currency="JPY", vat="10", connection_fee="100")
    p = price_session(t, Discount.percent(D("12.5")), session(kwh="10.3"))
    # energy 360.5 -> 360 (half even); discount 45 ; VAT (360 + 100 - 45) * 10 % = 41.5 -> 42
    assert amounts(p) == [("energy", "360"), ("connection_fee", "100"), ("discount", "-45")]
    assert (p.subtotal, p.vat, p.total, p.currency) == (D("415"), D("42"), D("457"), "JPY")


def test_time_fee_uses_exact_seconds() -> None:
    t = terms(Fixed(D(0)), time_fee="1.80")
    p = price_session(t, None, session(kwh="0", charging_seconds=1230))  # 0.341666 h
    assert amounts(p)[-1] == ("time_fee", "0.62")  # exactly 0.615 -> 0.62 (half to even)
    p2 = price_session(t, None, session(kwh="0", charging_seconds=1))
    assert amounts(p2)[-1] == ("time_fee", "0.00")  # 0.0005 -> 0.00


def test_zero_energy_session_still_shows_an_energy_line() -> None:
    p = price_session(terms(), None, session(kwh="0"))
    assert amounts(p) == [("energy", "0.00")] and p.total == D("0.00")


def test_site_energy_cost_overrides_the_plan_cost() -> None:
    t = terms(CostPlus(D("0.15"), D("0.10")))
    p = price_session(t, None, session(kwh="10"), energy_cost_per_kwh_override=D("0.20"))
    assert amounts(p) == [("energy_cost", "2.00"), ("energy_margin", "1.00")]
    fixed = price_session(terms(), None, session(kwh="10"), energy_cost_per_kwh_override=D(9))
    assert amounts(fixed) == [("energy", "4.00")]


# --------------------------------------------------------------------------- idle


def test_idle_counts_started_minutes_after_grace() -> None:
    idle = terms(idle=IdleFee(D("0.10"), 15))
    lines = {
        secs: amounts(price_session(idle, None, session(idle_seconds=secs)))[-1]
        for secs in (0, 900, 901, 960, 961)
    }
    assert lines == {
        0: ("idle_fee", "0.00"),
        900: ("idle_fee", "0.00"),
        901: ("idle_fee", "0.10"),
        960: ("idle_fee", "0.10"),
        961: ("idle_fee", "0.20"),
    }


def test_idle_counts_only_inside_its_schedule_in_local_time() -> None:
    # Night window 22:00-06:00 Amsterdam (UTC+1 in March). Idle from 20:30 local, 3 h,
    # no grace: chargeable minutes are 22:00-23:30 local -> 90 minutes.
    night = IdleFee(D("0.10"), 0, (ScheduleWindow((), "22:00", "06:00"),))
    idle_start = datetime(2025, 3, 3, 19, 30, tzinfo=UTC)  # 20:30 in Amsterdam
    m = session(
        started_at=idle_start - timedelta(hours=1),
        stopped_at=idle_start,
        idle_seconds=3 * 3600,
        tz="Europe/Amsterdam",
    )
    p = price_session(terms(idle=night), None, m)
    assert p.lines[-1].quantity == D(90)
    assert amounts(p)[-1] == ("idle_fee", "9.00")


def test_idle_schedule_days_and_grace() -> None:
    # Weekdays 08:00-18:00 only; idle starts Saturday 10:00 -> nothing billed.
    weekdays = ScheduleWindow(("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"), "08:00",
                              "18:00")  # fmt: skip
    fee = IdleFee(D("0.50"), 10, (weekdays,))
    saturday = datetime(2025, 3, 8, 10, 0, tzinfo=UTC)
    m = session(started_at=saturday - timedelta(hours=1), stopped_at=saturday, idle_seconds=7200)
    assert price_session(terms(idle=fee), None, m).lines[-1].quantity == D(0)
    # Friday 17:00 idle for 2 h, 10 min grace: billed 17:10-18:00 = 50 minutes.
    friday = datetime(2025, 3, 7, 17, 0, tzinfo=UTC)
    m2 = session(started_at=friday - timedelta(hours=1), stopped_at=friday, idle_seconds=7200)
    assert price_session(terms(idle=fee), None, m2).lines[-1].quantity == D(50)


def test_idle_starts_at_idle_started_at_when_given() -> None:
    fee = IdleFee(D("1"), 0, (ScheduleWindow((), "12:00", "13:00"),))
    m = session(idle_seconds=600, idle_started_at=datetime(2025, 3, 3, 12, 55, tzinfo=UTC))
    assert price_session(terms(idle=fee), None, m).lines[-1].quantity == D(5)


# --------------------------------------------------------------------------- time of day


def test_time_of_day_splits_energy_proportionally_to_charging_time() -> None:
    peak = TimeOfDayPrice((), "09:00", "17:00", D("0.60"))
    t = terms(Fixed(D("0.30"), (peak,)))
    # 08:00-10:00: one hour off-peak, one hour peak -> 10 kWh each
    p = price_session(t, Discount.percent(D(50)), session(kwh="20", charging_seconds=7200))
    assert amounts(p) == [
        ("energy", "3.00"),
        ("energy", "6.00"),
        ("discount", "-1.50"),
        ("discount", "-3.00"),
    ]
    assert [line.quantity for line in p.lines[:2]] == [D(10), D(10)]
    assert "09:00-17:00" in p.lines[1].description


def test_time_of_day_quantities_add_up_exactly() -> None:
    peak = TimeOfDayPrice(("MONDAY",), "08:20", "08:27", D("0.50"))
    t = terms(Fixed(D("0.30"), (peak,)))
    p = price_session(t, None, session(kwh="7.777", charging_seconds=3333))
    qty = [line.quantity for line in p.lines if line.kind == "energy"]
    assert len(qty) == 2
    assert sum(q for q in qty if q is not None) == D("7.777")


def test_time_of_day_window_past_midnight_and_first_window_wins() -> None:
    night = TimeOfDayPrice((), "22:00", "06:00", D("0.20"))
    overlap = TimeOfDayPrice((), "23:00", "01:00", D("0.99"))
    t = terms(Fixed(D("0.40"), (night, overlap)))
    m = session(started_at=datetime(2025, 3, 3, 23, 0, tzinfo=UTC), kwh="10")  # 23:00-01:00
    assert amounts(price_session(t, None, m)) == [("energy", "2.00")]


# --------------------------------------------------------------------------- summary, storage


def test_summary_reads_like_a_price_list() -> None:
    assert summary(terms(Fixed(D("0.35")), connection_fee="1")) == "0.35 EUR/kWh + 1.00 EUR/session"
    assert summary(DEPOT) == "0.40 EUR/kWh + 1.00 EUR/session + 0.10 EUR/min idle after 15 min"
    assert summary(terms(CostPlusPercent(D("0.15"), D(30)))) == "energy cost (0.15 EUR/kWh) + 30 %"


def test_terms_round_trip_through_json_dict() -> None:
    t = terms(
        Fixed(D("0.40"), (TimeOfDayPrice(("MONDAY", "FRIDAY"), "07:00", "23:00", D("0.45")),)),
        connection_fee="1.00",
        time_fee="2.5",
        idle=IdleFee(D("0.10"), 15, (ScheduleWindow((), "22:00", "06:00"),)),
    )
    stored = terms_to_dict(t)
    assert stored["energy"]["price_per_kwh"] == "0.40"
    assert terms_from_dict(stored) == t
    for energy in (CostPlus(D("0.15"), D("0.10")), CostPlusPercent(D("0.15"), D("30"))):
        assert terms_from_dict(terms_to_dict(terms(energy))) == terms(energy)


def test_terms_from_dict_rejects_malformed_documents() -> None:
    with pytest.raises(ValueError):
        terms_from_dict({"currency": "EUR", "vat_percent": "21"})
    with pytest.raises(ValueError):
        terms_from_dict({"currency": "EUR", "vat_percent": "21", "energy": {"kind": "magic"}})
    with pytest.raises(UnknownCurrency):
        terms_from_dict({"currency": "XXX", "vat_percent": "1", "energy": {"kind": "fixed"}})


def test_priced_session_dict_keeps_decimal_strings() -> None:
    out = priced_session_to_dict(price_session(DEPOT, None, DEPOT_SESSION))
    assert out["total"] == {"amount": "15.12", "currency": "EUR"}
    assert out["lines"][0]["amount"] == "10.00"


# --------------------------------------------------------------------------- discount value


def test_discount_percent_bounds_and_precision() -> None:
    assert Discount.percent(D("100")).strength == 10000
    assert Discount.free().strength > Discount.percent(D(100)).strength
    for bad in ("0", "-1", "100.01", "12.345"):
        with pytest.raises(ValueError):
            Discount.percent(D(bad))
    assert Discount.from_dict({"percent": "20"}) == Discount.percent(D(20))
    assert Discount.from_dict({"free": True}).to_dict() == {"free": True}
    with pytest.raises(ValueError):
        Discount.from_dict({"percent": "20", "free": True})


def test_money_helpers() -> None:
    assert quantize(D("2.625"), "EUR") == D("2.62")
    assert quantize(D("2.635"), "EUR") == D("2.64")
    assert quantize(D("0.0005"), "KWD") == D("0.000")
    assert quantize(D("1500.5"), "JPY") == D("1500")
    assert parse_amount("0.40") == D("0.40")
    for bad in ("1e3", "NaN", "-1", "0.1234567", "", "abc"):
        with pytest.raises(InvalidAmount):
            parse_amount(bad)
    with pytest.raises(UnknownCurrency):
        quantize(D(1), "EURO")


# --------------------------------------------------------------------------- properties

prices = st.decimals(min_value=0, max_value=5, places=4, allow_nan=False, allow_infinity=False)
optional_fee = st.none() | st.decimals(min_value=0, max_value=20, places=2)


@st.composite
def any_terms(draw: st.DrawFn) -> RatePlanTerms:
    energy: Energy = draw(
        st.one_of(
            st.builds(Fixed, prices),
            st.builds(
                Fixed,
                prices,
                st.tuples(
                    st.builds(
                        TimeOfDayPrice, st.just(()), st.just("07:00"), st.just("19:30"), prices
                    )
                ),
            ),
            st.builds(CostPlus, prices, prices),
            st.builds(CostPlusPercent, prices, st.decimals(0, 200, places=2)),
        )
    )
    return RatePlanTerms(
        currency=draw(st.sampled_from(["EUR", "JPY", "KWD", "CHF"])),
        vat_percent=draw(st.decimals(0, 30, places=2)),
        energy=energy,
        connection_fee=draw(optional_fee),
        time_fee_per_hour=draw(optional_fee),
        idle_fee=draw(st.none() | st.builds(IdleFee, prices, st.integers(0, 30))),
    )


@st.composite
def any_session(draw: st.DrawFn) -> SessionMeasurements:
    start = START + timedelta(minutes=draw(st.integers(0, 7 * 24 * 60)))
    secs = draw(st.integers(0, 12 * 3600))
    return session(
        kwh=str(draw(st.decimals(0, 150, places=3))),
        started_at=start,
        charging_seconds=secs,
        idle_seconds=draw(st.integers(0, 4 * 3600)),
        tz=draw(st.sampled_from(["UTC", "Europe/Amsterdam", "Asia/Tokyo"])),
    )


any_discount = (
    st.none()
    | st.just(Discount.free())
    | st.integers(1, 10000).map(lambda h: Discount.percent(D(h) / 100))
)


@given(any_terms(), any_session())
def test_free_always_prices_to_zero(t: RatePlanTerms, m: SessionMeasurements) -> None:
    p = price_session(t, Discount.free(), m)
    assert p.subtotal == 0 and p.vat == 0 and p.total == 0


@given(any_terms(), any_session(), st.integers(1, 10000))
def test_a_percentage_never_changes_a_fee_line(
    t: RatePlanTerms, m: SessionMeasurements, hundredths: int
) -> None:
    plain = price_session(t, None, m)
    discounted = price_session(t, Discount.percent(D(hundredths) / 100), m)
    assert [x for x in discounted.lines if x.kind != "discount"] == list(plain.lines)
    fee_kinds = {"connection_fee", "time_fee", "idle_fee"}
    targets = {x.applies_to for x in discounted.lines if x.kind == "discount"}
    assert not targets & fee_kinds
    assert targets <= ({"energy"} if isinstance(t.energy, Fixed) else {"energy_margin"})
    assert discounted.subtotal <= plain.subtotal


@given(any_terms(), any_session(), any_discount)
def test_totals_add_up(t: RatePlanTerms, m: SessionMeasurements, d: Discount | None) -> None:
    p = price_session(t, d, m)
    assert p.subtotal == sum(line.amount for line in p.lines)
    assert p.total == p.subtotal + p.vat
    assert p.vat == quantize(p.subtotal * t.vat_percent / 100, t.currency)
    assert p.total >= 0
    for line in p.lines:
        assert line.amount == quantize(line.amount, t.currency)


@given(any_terms())
def test_any_terms_round_trip(t: RatePlanTerms) -> None:
    assert terms_from_dict(terms_to_dict(t)) == t
