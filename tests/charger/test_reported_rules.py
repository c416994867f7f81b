"""Pure rules about what chargers report (charger.rules): faults, places, device models."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from chargegroups.charger.rules import (
    DeviceModelPart,
    Fault,
    has_place,
    with_device_model,
    with_faults,
)

AT = datetime(2026, 12, 3, tzinfo=UTC)
faults = st.builds(
    Fault,
    source=st.sampled_from(["station", "evse 1 connector 1", "evse 2 connector 1"]),
    code=st.sampled_from(["GroundFailure", "E42", None]),
    info=st.sampled_from([None, "hot"]),
    at=st.just(AT),
    cleared=st.booleans(),
)


@given(st.lists(faults, max_size=12))
def test_open_faults_are_the_last_uncleared_report_of_each_source(reports: list[Fault]) -> None:
    stored = None
    expected: dict[str, Fault] = {}
    for fault in reports:
        known = expected.get(fault.source)
        stored, changes = with_faults(stored, [fault])
        # A change is a fault that is new, different from the open one, or clears one.
        if fault.cleared:
            changed = known is not None
            expected.pop(fault.source, None)
        else:
            changed = known is None or (known.code, known.info) != (fault.code, fault.info)
            expected[fault.source] = fault
        assert changes == ([fault] if changed else [])
        assert {f["source"]: (f["code"], f["info"]) for f in stored["faults"]} == {
            source: (f.code, f.info) for source, f in expected.items()
        }


models = st.dictionaries(
    st.integers(1, 4), st.frozensets(st.integers(1, 3), max_size=3), max_size=3
)


@given(models, st.integers(-1, 5), st.integers(-1, 4), st.integers(1, 4))
def test_a_place_exists_as_the_device_model_or_the_connector_count_says(
    evses: dict[int, frozenset[int]], evse_id: int, connector_id: int, connectors: int
) -> None:
    model = with_device_model(
        None, DeviceModelPart(evses=evses, local_auth_list={}), fresh=True, at=AT
    )

    found = has_place(connectors, model, evse_id, connector_id)

    if evse_id < 1 or connector_id < 1:
        assert not found
    elif not evses:
        assert found == (evse_id <= connectors)
    else:
        listed = evses.get(evse_id)
        assert found == (listed is not None and (not listed or connector_id in listed))
