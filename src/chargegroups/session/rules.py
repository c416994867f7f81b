"""Pure rules about charging sessions: when one that its charger never ended is over."""

from __future__ import annotations

from datetime import datetime, timedelta

# The operator's default maximum session duration (Operator.max_session_hours).
MAX_SESSION_HOURS = 24

# Why the system ended a session (ChargingSession.end_reason).
CHARGER_BOOTED = "charger_booted"
NEW_TRANSACTION_ON_EVSE = "new_transaction_on_evse"
MAX_DURATION = "max_duration"


def outlived(started_at: datetime, at: datetime, max_hours: int) -> bool:
    """A session still open ``max_hours`` after its start is over: its token is not charging."""
    return at - started_at >= timedelta(hours=max_hours)


def last_activity(
    started_at: datetime, meter_last_at: datetime | None, charging_ended_at: datetime | None
) -> datetime:
    """Where a session its charger never ended is ended: the last thing we heard of it (its
    last meter reading, or the vehicle stopping), never before its start."""
    return max(t for t in (started_at, meter_last_at, charging_ended_at) if t is not None)
