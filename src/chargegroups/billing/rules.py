"""Billing periods (pure, no I/O).

A billing period is a calendar month in the operator's time zone, stored as the UTC instants of
its local bounds: ``start`` inclusive, ``end`` exclusive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

_LABEL = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True, slots=True)
class Period:
    """One billing month: ``[start, end)`` as aware UTC instants; ``label`` is ``YYYY-MM``."""

    year: int
    month: int
    start: datetime
    end: datetime

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def month_period(year: int, month: int, timezone: str) -> Period:
    zone = _zone(timezone)
    next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)
    start = datetime(year, month, 1, tzinfo=zone).astimezone(UTC)
    end = datetime(next_year, next_month, 1, tzinfo=zone).astimezone(UTC)
    return Period(year, month, start, end)


def period_of(instant: datetime, timezone: str) -> Period:
    """The billing month holding ``instant`` (an aware datetime) in ``timezone``."""
    local = instant.astimezone(_zone(timezone))
    return month_period(local.year, local.month, timezone)


def next_period(period: Period, timezone: str) -> Period:
    if period.month == 12:
        return month_period(period.year + 1, 1, timezone)
    return month_period(period.year, period.month + 1, timezone)


def parse_period(label: str, timezone: str) -> Period:
    """``"2026-11"`` -> that month; ``ValueError`` for anything else."""
    found = _LABEL.match(label)
    if found is None:
        raise ValueError(f"{label!r} is not a month YYYY-MM")
    return month_period(int(found.group(1)), int(found.group(2)), timezone)
