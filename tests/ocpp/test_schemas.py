"""The compiled fast path of OCPP schema validation never changes the library's verdict."""

from __future__ import annotations

from typing import Any

import ocpp.messages
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ocpp.messages import MessageType, get_validator

from chargegroups.ocpp import edge, schemas
from chargegroups.ocpp.edge import PROTOCOLS

edge.fast_schema_validation()  # at import: the cases below are the validators installed


def _fast_validators() -> list[tuple[str, schemas.FastValidator]]:
    found = [
        (key, v)
        for key, v in ocpp.messages._validators.items()
        if isinstance(v, schemas.FastValidator)
    ]
    return sorted(found, key=lambda kv: kv[0])


def test_every_message_the_edge_exchanges_has_the_fast_path() -> None:
    for cls in PROTOCOLS.values():
        for action in schemas.actions_of(cls) | {"ClearCache"}:
            for message_type in (MessageType.Call, MessageType.CallResult):
                validator = get_validator(message_type, action, cls.ocpp_version)
                assert isinstance(validator, schemas.FastValidator), (action, message_type)


def test_the_handled_actions_are_the_handlers_of_each_version() -> None:
    v16, v201 = PROTOCOLS["ocpp1.6"], PROTOCOLS["ocpp2.0.1"]
    assert {"Authorize", "BootNotification", "StartTransaction", "StopTransaction"} <= (
        schemas.actions_of(v16)
    )
    assert {"Authorize", "TransactionEvent", "StatusNotification"} <= schemas.actions_of(v201)
    assert "StartTransaction" not in schemas.actions_of(v201)


def _library_accepts(validator: schemas.FastValidator, payload: Any) -> bool:
    return bool(validator.library.is_valid(payload))


def instances(node: dict[str, Any], root: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Payloads valid against an OCPP schema (the keywords its schemas use)."""
    if "$ref" in node:
        return instances(root["definitions"][node["$ref"].rsplit("/", 1)[1]], root)
    if "enum" in node:
        return st.sampled_from(node["enum"])
    kind = node.get("type")
    if kind == "object":
        properties = node.get("properties", {})
        required = set(node.get("required", []))
        return st.fixed_dictionaries(
            {k: instances(v, root) for k, v in properties.items() if k in required},
            optional={k: instances(v, root) for k, v in properties.items() if k not in required},
        )
    if kind == "array":
        low = node.get("minItems", 0)
        return st.lists(
            instances(node.get("items", {}), root),
            min_size=low,
            max_size=max(low, min(node.get("maxItems", 2), 2)),
        )
    if kind == "string":
        return st.text(max_size=node.get("maxLength", 20))
    if kind == "integer":
        return st.integers(int(node.get("minimum", -(2**31))), int(node.get("maximum", 2**31)))
    if kind == "number":
        low, high = node.get("minimum", -1e6), node.get("maximum", 1e6)
        return st.integers(int(max(low, -1000)), int(min(high, 1000))) | st.floats(
            low, high, allow_nan=False
        )
    if kind == "boolean":
        return st.booleans()
    return st.none()


def _mutated(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Near misses of a valid payload: a key dropped, a value replaced, a key added."""
    junk = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**40), 2**40),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=600),
        st.lists(st.integers(), max_size=3),
        st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    )

    @st.composite
    def mutate(draw: st.DrawFn) -> Any:
        payload = draw(valid)
        if not isinstance(payload, dict) or not payload:
            return draw(junk)
        key = draw(st.sampled_from(sorted(payload)))
        choice = draw(st.sampled_from(["drop", "replace", "add", "nested"]))
        changed = dict(payload)
        if choice == "drop":
            del changed[key]
        elif choice == "replace":
            changed[key] = draw(junk)
        elif choice == "add":
            changed[draw(st.text(min_size=1, max_size=8))] = draw(junk)
        elif isinstance(changed[key], dict) and changed[key]:
            inner = dict(changed[key])
            inner[draw(st.sampled_from(sorted(inner)))] = draw(junk)
            changed[key] = inner
        return changed

    return mutate()


@pytest.mark.parametrize(
    ("key", "validator"), _fast_validators(), ids=[key for key, _ in _fast_validators()]
)
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_fast_and_library_validators_agree_on_valid_and_near_miss_payloads(
    key: str, validator: schemas.FastValidator, data: st.DataObject
) -> None:
    valid = instances(validator.library.schema, validator.library.schema)
    if data.draw(st.booleans(), label="a valid payload"):
        payload = data.draw(valid)
        assert _library_accepts(validator, payload), (key, payload)  # the generator's promise
    else:
        payload = data.draw(_mutated(valid))
    fast = validator._compiled.is_valid(payload)
    assert fast == _library_accepts(validator, payload), (key, payload)
    # Whatever the fast path says, the verdict given is the library's.
    try:
        validator.validate(payload)
        accepted = True
    except Exception:
        accepted = False
    assert accepted == _library_accepts(validator, payload)
