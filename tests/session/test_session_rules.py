"""Pure rules of sessions its charger never ended (session.rules)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from chargegroups.session.rules import last_activity, outlived

START = datetime(2026, 12, 3, tzinfo=UTC)
offsets = st.none() | st.integers(-10_000, 10_000).map(lambda m: START + timedelta(minutes=m))


@given(offsets, offsets)
def test_an_orphan_ends_at_the_last_we_heard_never_before_its_start(
    meter_last_at: datetime | None, charging_ended_at: datetime | None
) -> None:
    ended = last_activity(START, meter_last_at, charging_ended_at)

    assert ended >= START
    assert ended in {START, meter_last_at, charging_ended_at}
    assert all(ended >= t for t in (meter_last_at, charging_ended_at) if t is not None)


@given(st.integers(0, 2000), st.integers(1, 720))
def test_a_session_outlives_the_maximum_exactly_at_its_end(minutes: int, hours: int) -> None:
    assert outlived(START, START + timedelta(minutes=minutes), hours) == (minutes >= hours * 60)
