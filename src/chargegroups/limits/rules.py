"""How long a key is refused after repeated failures (pure)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


def limit_key(limit: str, value: str) -> str:
    """The counter's key of ``value`` (an address, an email) under ``limit``."""
    return hashlib.sha256(f"{limit}\n{value}".encode()).hexdigest()


def public_limit_key(client_address: str) -> str:
    """The key of the public sign-up calls' limit (API and console alike)."""
    return limit_key("public", client_address)


@dataclass(frozen=True, slots=True)
class FailurePolicy:
    """``free_failures`` within a window of ``lockout_seconds`` cost nothing; each failure after
    them refuses the key for twice as long as the one before (1, 2, 4, ... seconds), up to a
    lockout of ``lockout_seconds``. The window starts at the first failure."""

    free_failures: int
    lockout_seconds: int

    def refusal_after(self, failures: int) -> int:
        """Seconds the key is refused after its ``failures``-th failure of the window."""
        over = failures - self.free_failures
        if over <= 0:
            return 0
        doubled: int = 2 ** min(over - 1, 32)
        return min(doubled, self.lockout_seconds)
