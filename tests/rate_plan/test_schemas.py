"""API shapes for rate plans and discounts: validation and conversion to the dataclasses."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from chargegroups.rate_plan.rules import CostPlus, Discount, Fixed, IdleFee, ScheduleWindow
from chargegroups.rate_plan.schemas import (
    DiscountIn,
    RatePlanIn,
    RatePlanOut,
    RatePlanTermsIn,
    RatePlanUpdate,
)

DEPOT: dict[str, Any] = {
    "name": "Depot",
    "currency": "EUR",
    "vat_percent": "21",
    "energy": {"kind": "fixed", "price_per_kwh": "0.40"},
    "connection_fee": "1.00",
    "idle_fee": {"per_minute": "0.10", "grace_minutes": 15},
}


def test_rate_plan_in_converts_to_terms() -> None:
    terms = RatePlanIn.model_validate(DEPOT).to_terms()
    assert terms.energy == Fixed(Decimal("0.40"))
    assert terms.connection_fee == Decimal("1.00")
    assert terms.idle_fee == IdleFee(Decimal("0.10"), 15, None)
    assert terms.vat_percent == Decimal(21)


def test_energy_is_a_union_discriminated_on_kind() -> None:
    body = {**DEPOT, "energy": {"kind": "cost_plus", "cost_per_kwh": "0.15", "delta_per_kwh": "0"}}
    assert RatePlanIn.model_validate(body).to_terms().energy == CostPlus(
        Decimal("0.15"), Decimal(0)
    )
    with pytest.raises(ValidationError) as err:
        RatePlanIn.model_validate({**DEPOT, "energy": {"kind": "magic"}})
    assert "kind" in str(err.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("currency", "eur"),
        ("currency", "EURO"),
        ("currency", "XYZ"),
        ("vat_percent", "101"),
        ("connection_fee", "-1"),
        ("connection_fee", 1.5),
        ("connection_fee", "1.1234567"),
        ("connection_fee", "NaN"),
        ("surprise", "1"),
    ],
)
def test_invalid_rate_plans_are_refused(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as err:
        RatePlanIn.model_validate({**DEPOT, field: value})
    assert field in str(err.value)


def test_time_windows_must_be_hh_mm_and_named_days() -> None:
    tod = {"days_of_week": ["MONDAY"], "start": "24:00", "end": "06:00", "price_per_kwh": "1"}
    energy = {"kind": "fixed", "price_per_kwh": "0.40", "time_of_day": [tod]}
    with pytest.raises(ValidationError):
        RatePlanIn.model_validate({**DEPOT, "energy": energy})
    tod.update(start="22:00", days_of_week=["Mon"])
    with pytest.raises(ValidationError):
        RatePlanIn.model_validate({**DEPOT, "energy": energy})


def test_terms_round_trip_through_the_api_shape() -> None:
    body = {
        **DEPOT,
        "idle_fee": {
            "per_minute": "0.10",
            "grace_minutes": 15,
            "schedule": [{"days_of_week": [], "start": "22:00", "end": "06:00"}],
        },
    }
    terms = RatePlanIn.model_validate(body).to_terms()
    assert terms.idle_fee is not None
    assert terms.idle_fee.schedule == (ScheduleWindow((), "22:00", "06:00"),)
    again = RatePlanTermsIn.from_terms(terms)
    assert again.to_terms() == terms
    out = RatePlanOut.build(id="rp1", version=2, name="Depot", terms=terms)
    dumped = out.model_dump(mode="json", exclude_none=True)
    assert dumped["summary"].startswith("0.40 EUR/kWh + 1.00 EUR/session")
    assert dumped["connection_fee"] == "1.00"
    assert dumped["version"] == 2


def test_update_replaces_sent_fields_and_null_removes_a_fee() -> None:
    terms = RatePlanIn.model_validate(DEPOT).to_terms()
    patch = RatePlanUpdate.model_validate({"connection_fee": None, "vat_percent": "9"})
    new = patch.apply(terms)
    assert new.connection_fee is None
    assert new.vat_percent == Decimal(9)
    assert new.idle_fee == terms.idle_fee
    with pytest.raises(ValidationError):
        RatePlanUpdate.model_validate({"energy": None})


def test_discount_in_accepts_percent_or_free() -> None:
    assert DiscountIn.model_validate({"percent": "20"}).to_discount() == Discount.percent(
        Decimal(20)
    )
    assert DiscountIn.model_validate({"free": True}).to_discount() == Discount.free()
    assert DiscountIn.from_discount(Discount.free()).model_dump(exclude_none=True) == {"free": True}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"percent": "20", "free": True},
        {"percent": "0"},
        {"percent": "100.01"},
        {"percent": "12.345"},
        {"percent": 20.5},
        {"free": False},
        {"percent": "ten"},
    ],
)
def test_discount_in_refuses_anything_else(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        DiscountIn.model_validate(body)
