"""Partial updates (PATCH): a field that may be left out is not thereby allowed to be null."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chargegroups.errors import InvalidInput


def reject_nulls(changes: Mapping[str, Any], *required: str) -> None:
    """Refuse an explicit null for any of the ``required`` fields present in ``changes``."""
    nulls = [key for key in required if key in changes and changes[key] is None]
    if nulls:
        raise InvalidInput(f"{', '.join(nulls)} cannot be null.", code="validation_error")
