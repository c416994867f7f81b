"""The deployment's limits, as the edges ask them."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chargegroups.config import Settings
from chargegroups.database import unit_of_work
from chargegroups.errors import RateLimited
from chargegroups.kit.clock import utcnow
from chargegroups.limits import repository
from chargegroups.limits.rules import FailurePolicy


class Limits:
    """Counters in the database, each change in a short transaction of its own.

    Unlike a service, this commits: a limit counts every attempt whatever becomes of the
    request's own transaction (a failed login rolls it back; the failure must stay counted).
    Call it while the request's session holds no write: on SQLite the two would wait for each
    other.
    """

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock

    async def hit(self, key: str, *, limit: int, window_seconds: int) -> None:
        """Count a call of ``key``; over ``limit`` in the window: :class:`RateLimited`."""
        now = self._clock()
        async with unit_of_work(self._sessionmaker) as session:
            hits, started_at = await repository.count_hit(
                session, key, now=now, window_seconds=window_seconds
            )
        if hits > limit:
            raise _refused(started_at + timedelta(seconds=window_seconds) - now)

    async def check(self, *keys: str) -> None:
        """:class:`RateLimited` while any of ``keys`` is refused after failures."""
        now = self._clock()
        async with unit_of_work(self._sessionmaker) as session:
            until = await repository.refused_until(session, keys, now)
        if until is not None:
            raise _refused(until - now)

    async def failed(self, policies: Mapping[str, FailurePolicy]) -> None:
        """Count a failure of each key, and refuse it as long as its policy says."""
        now = self._clock()
        async with unit_of_work(self._sessionmaker) as session:
            for key, policy in policies.items():
                failures, _ = await repository.count_hit(
                    session, key, now=now, window_seconds=policy.lockout_seconds
                )
                if refusal := policy.refusal_after(failures):
                    await repository.refuse_until(session, key, now + timedelta(seconds=refusal))

    async def succeeded(self, key: str) -> None:
        """Forget ``key``'s failures (a right password after a few typos)."""
        async with unit_of_work(self._sessionmaker) as session:
            await repository.forget(session, key)


@dataclass(frozen=True, slots=True)
class FailureLimits:
    """The limits on failed attempts (logins, charger handshakes): per key (an email, a charge
    point id) and per client address."""

    limits: Limits
    per_key: FailurePolicy
    per_address: FailurePolicy

    @classmethod
    def from_settings(cls, limits: Limits, settings: Settings) -> FailureLimits:
        lockout = settings.auth_lockout_seconds
        return cls(
            limits,
            per_key=FailurePolicy(settings.auth_free_failures, lockout),
            per_address=FailurePolicy(settings.auth_free_failures_per_address, lockout),
        )

    async def check(self, key: str, address_key: str) -> None:
        await self.limits.check(key, address_key)

    async def failed(self, key: str, address_key: str) -> None:
        await self.limits.failed({key: self.per_key, address_key: self.per_address})

    async def succeeded(self, key: str) -> None:
        await self.limits.succeeded(key)


def _refused(wait: timedelta) -> RateLimited:
    return RateLimited(
        "Too many attempts; retry later.", retry_after=max(1, math.ceil(wait.total_seconds()))
    )
