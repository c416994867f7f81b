"""A small in-memory sliding-window rate limiter (per process), keyed by e.g. client IP."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from chargegroups.errors import RateLimited


class SlidingWindowLimiter:
    """At most ``limit`` hits per key within any ``window_seconds``-long window."""

    def __init__(
        self, limit: int, window_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window_seconds
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}

    def allow(self, key: str) -> bool:
        now = self.clock()
        horizon = now - self.window
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= horizon:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        if len(self._hits) > 10_000:
            self._forget_idle(horizon)
        return True

    def check(self, key: str) -> None:
        if not self.allow(key):
            raise RateLimited("Too many requests; wait a minute and retry.")

    def _forget_idle(self, horizon: float) -> None:
        # Keeps memory bounded by the clients active within one window.
        for key in [k for k, hits in self._hits.items() if not hits or hits[-1] <= horizon]:
            del self._hits[key]
