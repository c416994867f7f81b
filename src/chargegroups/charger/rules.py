"""Pure rules about chargers."""

from __future__ import annotations

# Modes that take access away from drivers who had it (C2, D8).
RESTRICTIVE_MODES = ("private", "closed")


def revokes_access(old_mode: str, new_mode: str) -> bool:
    """Going private or closed may end access that chargers hold in their caches."""
    return new_mode != old_mode and new_mode in RESTRICTIVE_MODES
