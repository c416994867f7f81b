"""OCPI 2.2.1 Tariff export."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chargegroups.rate_plan.ocpi import dumps, to_ocpi_tariff
from chargegroups.rate_plan.rules import (
    CostPlus,
    CostPlusPercent,
    Energy,
    Fixed,
    IdleFee,
    RatePlanTerms,
    ScheduleWindow,
    TimeOfDayPrice,
)

D = Decimal
WHEN = datetime(2025, 5, 1, 12, 30, 15, 123, tzinfo=UTC)
DIMENSIONS = {"ENERGY", "FLAT", "TIME", "PARKING_TIME"}
DAYS = {"MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"}
HHMM = re.compile(r"^([0-1][0-9]|2[0-3]):[0-5][0-9]$")


def terms(
    energy: Energy | None = None,
    *,
    connection_fee: str | None = "1.00",
    time_fee: str | None = None,
    idle: IdleFee | None = None,
) -> RatePlanTerms:
    return RatePlanTerms(
        "EUR",
        D("21"),
        energy or Fixed(D("0.40")),
        None if connection_fee is None else D(connection_fee),
        None if time_fee is None else D(time_fee),
        idle,
    )


def export(t: RatePlanTerms) -> dict[str, Any]:
    return to_ocpi_tariff(
        t, tariff_id="rp-1-v3", country_code="NL", party_id="CGR", last_updated=WHEN, version=3
    )


def assert_valid_ocpi_tariff(tariff: dict[str, Any]) -> None:
    assert re.fullmatch(r"[A-Z]{2}", tariff["country_code"])
    assert re.fullmatch(r"[A-Z0-9]{3}", tariff["party_id"])
    assert 0 < len(tariff["id"]) <= 36
    assert re.fullmatch(r"[A-Z]{3}", tariff["currency"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", tariff["last_updated"])
    assert tariff["elements"]
    for element in tariff["elements"]:
        assert element["price_components"]
        for pc in element["price_components"]:
            assert pc["type"] in DIMENSIONS
            assert isinstance(pc["step_size"], int) and pc["step_size"] >= 1
            assert pc["price"] >= 0
            assert -pc["price"].as_tuple().exponent <= 4
        r = element.get("restrictions", {})
        for key in ("start_time", "end_time"):
            if key in r:
                assert HHMM.match(r[key])
        assert set(r.get("day_of_week", [])) <= DAYS
    for text in tariff["tariff_alt_text"]:
        assert set(text) == {"language", "text"} and len(text["language"]) == 2


def test_depot_plan_exports_energy_flat_and_parking() -> None:
    tariff = export(terms(idle=IdleFee(D("0.10"), 15), time_fee="1.20"))
    assert_valid_ocpi_tariff(tariff)
    assert tariff["last_updated"] == "2025-05-01T12:30:15Z"
    [element] = tariff["elements"]
    assert "restrictions" not in element
    components = {pc["type"]: pc for pc in element["price_components"]}
    assert components["ENERGY"] == {"type": "ENERGY", "price": D("0.4"), "vat": 21, "step_size": 1}
    assert components["FLAT"]["price"] == 1
    assert components["TIME"] == {"type": "TIME", "price": D("1.2"), "vat": 21, "step_size": 1}
    assert components["PARKING_TIME"]["price"] == 6  # 0.10 per minute = 6.00 per hour
    assert components["PARKING_TIME"]["step_size"] == 60
    text = tariff["tariff_alt_text"][0]["text"]
    assert "15 minutes' grace" in text and "version 3" in text


def test_time_of_day_prices_come_first_and_split_at_midnight_on_named_days() -> None:
    night = TimeOfDayPrice(("FRIDAY", "SUNDAY"), "22:00", "06:00", D("0.25"))
    peak = TimeOfDayPrice((), "17:00", "20:00", D("0.55"))
    tariff = export(terms(Fixed(D("0.40"), (night, peak))))
    assert_valid_ocpi_tariff(tariff)
    head = tariff["elements"][:3]
    assert [e["price_components"][0]["price"] for e in head] == [D("0.25"), D("0.25"), D("0.55")]
    assert [e["restrictions"] for e in head] == [
        {"start_time": "22:00", "end_time": "00:00", "day_of_week": ["FRIDAY", "SUNDAY"]},
        {"start_time": "00:00", "end_time": "06:00", "day_of_week": ["SATURDAY", "MONDAY"]},
        {"start_time": "17:00", "end_time": "20:00"},
    ]
    last = tariff["elements"][-1]
    assert "restrictions" not in last
    assert [pc["type"] for pc in last["price_components"]] == ["ENERGY", "FLAT"]


def test_idle_schedule_becomes_restricted_parking_elements() -> None:
    idle = IdleFee(D("0.20"), 0, (ScheduleWindow(("MONDAY",), "08:00", "18:00"),))
    tariff = export(terms(idle=idle, connection_fee=None))
    assert_valid_ocpi_tariff(tariff)
    parking, base = tariff["elements"]
    assert parking["price_components"][0]["type"] == "PARKING_TIME"
    assert parking["price_components"][0]["price"] == 12
    assert parking["restrictions"] == {
        "start_time": "08:00",
        "end_time": "18:00",
        "day_of_week": ["MONDAY"],
    }
    assert [pc["type"] for pc in base["price_components"]] == ["ENERGY"]


def test_cost_plus_exports_cost_and_margin_as_one_energy_price() -> None:
    plus = export(terms(CostPlus(D("0.15"), D("0.10"))))
    percent = export(terms(CostPlusPercent(D("0.15"), D("30"))))
    assert plus["elements"][-1]["price_components"][0]["price"] == D("0.25")
    assert percent["elements"][-1]["price_components"][0]["price"] == D("0.195")
    assert "may vary" in plus["tariff_alt_text"][0]["text"]


def test_prices_are_rounded_to_four_decimals_and_dump_as_numbers() -> None:
    tariff = export(terms(Fixed(D("0.123456"))))
    assert tariff["elements"][0]["price_components"][0]["price"] == D("0.1235")
    parsed = json.loads(dumps(tariff))
    assert parsed["elements"][0]["price_components"][0]["price"] == 0.1235
    assert parsed["elements"][0]["price_components"][1]["price"] == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [("country_code", "nl"), ("party_id", "TOOLONG"), ("tariff_id", "x" * 37)],
)
def test_invalid_ocpi_identifiers_are_refused(field: str, value: str) -> None:
    args: dict[str, Any] = {"tariff_id": "t", "country_code": "NL", "party_id": "CGR"}
    args[field] = value
    with pytest.raises(ValueError):
        to_ocpi_tariff(terms(), last_updated=WHEN, version=1, **args)


windows = st.builds(
    ScheduleWindow,
    st.lists(st.sampled_from(sorted(DAYS)), max_size=3, unique=True).map(tuple),
    st.sampled_from(["00:00", "06:00", "22:00"]),
    st.sampled_from(["00:00", "07:30", "23:00"]),
)


@given(st.lists(windows, max_size=3), st.none() | st.lists(windows, max_size=2))
def test_any_plan_exports_a_valid_tariff(
    tod: list[ScheduleWindow], schedule: list[ScheduleWindow] | None
) -> None:
    prices = tuple(TimeOfDayPrice(w.days_of_week, w.start, w.end, D("0.3")) for w in tod)
    idle = IdleFee(D("0.05"), 5, None if schedule is None else tuple(schedule))
    tariff = export(terms(Fixed(D("0.4"), prices), idle=idle, time_fee="2"))
    assert_valid_ocpi_tariff(tariff)
    assert "restrictions" not in tariff["elements"][-1]
    json.loads(dumps(tariff))
