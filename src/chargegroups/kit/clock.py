"""The one source of 'now' (timezone-aware UTC), so tests and rules never read the wall clock."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Databases without time zones (SQLite) hand back naive datetimes that are UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
