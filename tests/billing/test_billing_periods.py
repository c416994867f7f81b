"""Billing periods: calendar months in the operator's time zone, as UTC instants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chargegroups.billing.rules import next_period, parse_period, period_of

ZONES = ("UTC", "Europe/Amsterdam", "America/New_York", "Asia/Tokyo", "Pacific/Chatham")
instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2090, 12, 31), timezones=st.just(UTC)
)


def test_a_month_in_amsterdam_starts_at_local_midnight() -> None:
    period = parse_period("2025-03", "Europe/Amsterdam")
    assert period.start == datetime(2025, 2, 28, 23, 0, tzinfo=UTC)  # CET, UTC+1
    assert period.end == datetime(2025, 3, 31, 22, 0, tzinfo=UTC)  # CEST from 30 March
    assert period.label == "2025-03"


def test_december_is_followed_by_january() -> None:
    december = parse_period("2025-12", "UTC")
    assert next_period(december, "UTC").label == "2026-01"


@pytest.mark.parametrize(
    "label", ["2025-13", "2025-00", "2025-3", "25-03", "2025-03-01", "", "0000-01"]
)
def test_anything_but_a_month_is_refused(label: str) -> None:
    with pytest.raises(ValueError):
        parse_period(label, "UTC")


@given(instant=instants, zone=st.sampled_from(ZONES))
def test_every_instant_lies_in_its_own_period(instant: datetime, zone: str) -> None:
    period = period_of(instant, zone)
    assert period.start <= instant < period.end


@given(instant=instants, zone=st.sampled_from(ZONES))
def test_periods_tile_time_without_gaps(instant: datetime, zone: str) -> None:
    period = period_of(instant, zone)
    following = next_period(period, zone)
    assert following.start == period.end
    assert period_of(period.end, zone) == following
    assert period_of(period.start - timedelta(microseconds=1), zone).end == period.start
