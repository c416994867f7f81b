"""Pure rules about chargers."""

from __future__ import annotations

from datetime import datetime, timedelta

# OCPP chargers send a Heartbeat at least every few minutes; silence longer than this is offline.
ONLINE_WINDOW = timedelta(minutes=10)
# Modes that take access away from drivers who had it (C2, D8).
RESTRICTIVE_MODES = ("private", "closed")


def is_online(last_seen_at: datetime | None, now: datetime) -> bool:
    return last_seen_at is not None and now - last_seen_at <= ONLINE_WINDOW


def revokes_access(old_mode: str, new_mode: str) -> bool:
    """Going private or closed may end access that chargers hold in their caches."""
    return new_mode != old_mode and new_mode in RESTRICTIVE_MODES
