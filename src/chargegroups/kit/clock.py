"""The one source of 'now' (timezone-aware UTC), so tests and rules never read the wall clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

# Instants from outside (a charger's clock) outside these bounds are not believed.
EARLIEST_PLAUSIBLE = datetime(2000, 1, 1, tzinfo=UTC)
MOST_AHEAD = timedelta(days=1)


def utcnow() -> datetime:
    return datetime.now(UTC)


def plausible_instant(at: datetime, now: datetime) -> bool:
    """From 2000 to a day past ``now``: anything else is a broken clock (and arithmetic on
    year 9999 overflows)."""
    return EARLIEST_PLAUSIBLE <= at <= now + MOST_AHEAD


def as_utc(value: datetime) -> datetime:
    """Databases without time zones (SQLite) hand back naive datetimes that are UTC."""
    zone = value.tzinfo
    if zone is UTC:  # as PostgreSQL's drivers hand them back: nothing to make
        return value
    return value.replace(tzinfo=UTC) if zone is None else value.astimezone(UTC)


def from_database(value: datetime | str | None) -> datetime | None:
    """A UTC instant as a driver hands it back raw: SQLite's text, or a datetime."""
    if value is None:
        return None
    return as_utc(datetime.fromisoformat(value) if isinstance(value, str) else value)
