"""The deployment's limits: counted in the database, atomically, in windows."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chargegroups.errors import RateLimited
from chargegroups.limits.counters import Limits
from chargegroups.limits.rules import FailurePolicy, limit_key


@given(
    free=st.integers(1, 100),
    lockout=st.integers(1, 100_000),
    failures=st.lists(st.integers(0, 10_000), min_size=2, max_size=10),
)
def test_refusals_start_after_the_free_failures_grow_and_stop_at_the_lockout(
    free, lockout, failures
) -> None:
    policy = FailurePolicy(free, lockout)
    ordered = sorted(failures)
    refusals = [policy.refusal_after(n) for n in ordered]
    assert refusals == sorted(refusals)  # never shorter after more failures
    assert all(0 <= r <= lockout for r in refusals)
    assert all((r == 0) == (n <= free) for n, r in zip(ordered, refusals, strict=True))


def test_the_refusal_doubles_with_each_failure_over_the_free_ones() -> None:
    policy = FailurePolicy(free_failures=2, lockout_seconds=10)
    assert [policy.refusal_after(n) for n in range(1, 8)] == [0, 0, 1, 2, 4, 8, 10]


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 3, 12, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def test_concurrent_hits_never_let_more_through_than_the_limit(sessionmaker) -> None:
    limits = Limits(sessionmaker)
    key = limit_key("test", "1.2.3.4")
    answers = await asyncio.gather(
        *(limits.hit(key, limit=5, window_seconds=60) for _ in range(20)), return_exceptions=True
    )
    assert sum(answer is None for answer in answers) == 5
    assert all(isinstance(a, RateLimited) for a in answers if a is not None)


async def test_a_window_starts_again_once_it_is_over(sessionmaker) -> None:
    clock = Clock()
    limits = Limits(sessionmaker, clock=clock)
    key = limit_key("test", "a")
    await limits.hit(key, limit=1, window_seconds=60)
    with pytest.raises(RateLimited) as refused:
        await limits.hit(key, limit=1, window_seconds=60)
    assert refused.value.extra["retry_after"] == 60
    clock.now += timedelta(seconds=60)
    await limits.hit(key, limit=1, window_seconds=60)
    await limits.hit(limit_key("test", "b"), limit=1, window_seconds=60)  # each key its own


async def test_failures_refuse_the_key_until_the_policy_says(sessionmaker) -> None:
    clock = Clock()
    limits = Limits(sessionmaker, clock=clock)
    key, other = limit_key("test", "x"), limit_key("test", "y")
    policy = FailurePolicy(free_failures=1, lockout_seconds=600)
    await limits.failed({key: policy})
    await limits.check(key)  # the free failure refuses nothing
    await limits.failed({key: policy})
    with pytest.raises(RateLimited) as refused:
        await limits.check(other, key)
    assert refused.value.extra["retry_after"] == 1
    clock.now += timedelta(seconds=1)
    await limits.check(key, other)
    await limits.failed({key: policy})
    await limits.succeeded(key)  # a right password forgets the failures
    await limits.check(key)
