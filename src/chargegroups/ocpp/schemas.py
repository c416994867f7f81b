"""Schema validation of OCPP payloads as the ``ocpp`` library does it, at compiled speed.

The library checks every payload a charger sends and every answer we send against the
protocol's JSON schemas, with jsonschema's Draft 4 validator. In 2.0.1 that validator follows the
schemas' ``$ref`` links through the ``referencing`` library on every message: 205 µs of the
server's CPU for one Authorize and its answer, a quarter of the message (50 µs in 1.6;
docs/benchmarks.md). The charging side of the protocol is this edge's hot path, so its messages
get a compiled validator in front of the library's own (jsonschema-rs, the same Draft 4 rules
and no format checks, as the library's): a payload it accepts passes in about a microsecond; one
it refuses goes on to the library's validator, which accepts or refuses it exactly as before and
raises what the library always raised, so every CallError stays the library's.

The library keeps its validators in a module cache (``ocpp.messages._validators``); each
validator of a message this edge exchanges is replaced there by its fast-path twin. Should the
library stop keeping that cache, nothing is replaced and it validates as it always did.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import jsonschema_rs
import ocpp.messages
from ocpp.messages import MessageType, get_validator

__all__ = ["FastValidator", "actions_of", "install"]


class FastValidator:
    """A library validator with a compiled fast path for the payloads it accepts."""

    __slots__ = ("_compiled", "library")

    def __init__(self, library: Any) -> None:
        self.library = library
        self._compiled = jsonschema_rs.Draft4Validator(library.schema, validate_formats=False)

    def validate(self, payload: Any) -> None:
        if not self._compiled.is_valid(payload):
            self.library.validate(payload)  # the library's verdict, and its error

    def __getattr__(self, name: str) -> Any:  # anything else the library asks of a validator
        return getattr(self.library, name)


def actions_of(charge_point_class: type) -> set[str]:
    """The actions a charge point class handles (its ``@on`` handlers)."""
    return {
        str(handler._on_action)
        for name in dir(charge_point_class)
        if (handler := getattr(charge_point_class, name, None)) is not None
        and hasattr(handler, "_on_action")
    }


def install(version: str, actions: Iterable[str]) -> None:
    """Give the library's validators of ``actions`` (each call and its answer) the fast path."""
    cache: dict[str, Any] | None = getattr(ocpp.messages, "_validators", None)
    if cache is None:
        return
    for action in actions:
        for message_type in (MessageType.Call, MessageType.CallResult):
            library = get_validator(message_type, action, version)
            if isinstance(library, FastValidator):
                continue
            for key, cached in list(cache.items()):
                if cached is library:
                    cache[key] = FastValidator(library)
