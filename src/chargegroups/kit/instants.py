"""The instants a client or a charger may name: years 2000 to 2100, so no arithmetic on them
(``at + ttl``, a period's end) can leave what ``datetime`` and the databases hold."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2101, 1, 1, tzinfo=UTC)  # exclusive


def within_bounds(value: datetime) -> datetime:
    if not EARLIEST <= value < LATEST:
        raise ValueError("must be an instant between the years 2000 and 2100")
    return value


def _text_only(value: Any) -> Any:
    # Pydantic would read a number as seconds since 1970: a client sending one meant no instant.
    if isinstance(value, int | float):
        raise ValueError("must be an ISO 8601 date and time with its offset, not a number")
    return value


#: An ISO 8601 instant with an offset, within :data:`EARLIEST` and :data:`LATEST`.
Instant = Annotated[AwareDatetime, BeforeValidator(_text_only), AfterValidator(within_bounds)]
