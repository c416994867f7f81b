from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chargegroups.app import create_app, dispose
from chargegroups.config import Settings
from chargegroups.errors import RateLimited
from chargegroups.kit.rate_limit import SlidingWindowLimiter
from tests.fixtures.clock import FakeClock


def test_the_limiter_refuses_the_hit_after_the_limit_within_the_window() -> None:
    limiter = SlidingWindowLimiter(3, 60, clock=FakeClock())
    assert [limiter.allow("1.2.3.4") for _ in range(4)] == [True, True, True, False]


def test_the_limiter_allows_again_once_old_hits_leave_the_window() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(2, 60, clock=clock)
    limiter.allow("ip")
    clock.now += 30
    limiter.allow("ip")
    clock.now += 31  # the first hit is now older than the window
    assert limiter.allow("ip") is True
    assert limiter.allow("ip") is False


def test_the_limiter_counts_each_client_separately() -> None:
    limiter = SlidingWindowLimiter(1, 60, clock=FakeClock())
    assert limiter.allow("a") and limiter.allow("b")
    with pytest.raises(RateLimited):
        limiter.check("a")


@given(
    limit=st.integers(1, 5),
    gaps=st.lists(st.floats(0, 30, allow_nan=False), min_size=1, max_size=40),
)
def test_no_window_ever_holds_more_allowed_hits_than_the_limit(limit, gaps) -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(limit, 60, clock=clock)
    allowed: list[float] = []
    for gap in gaps:
        clock.now += gap
        if limiter.allow("ip"):
            allowed.append(clock.now)
    for start in allowed:
        assert sum(1 for t in allowed if start <= t < start + 60) <= limit


@pytest.fixture
async def strict_client(app_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(app_settings.model_copy(update={"public_rate_limit": 2}))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
    await dispose(app)


async def test_public_calls_over_the_limit_are_429_rate_limited(strict_client, engine) -> None:
    answers = [
        await strict_client.post("/api/v1/verify-email", json={"token": f"cg_ver_{n}"})
        for n in range(3)
    ]
    assert [a.status_code for a in answers] == [404, 404, 429]
    assert answers[2].json()["code"] == "rate_limited"


async def test_the_limit_spans_every_public_call(strict_client, engine) -> None:
    await strict_client.post("/api/v1/verify-email", json={"token": "cg_ver_x"})
    await strict_client.post(
        "/api/v1/join/cg_join_x", json={"email": "a@b.example", "password": "x" * 8, "name": "A"}
    )
    response = await strict_client.post(
        "/api/v1/signup",
        json={"operator": "op", "email": "a@b.example", "password": "x" * 8, "name": "A"},
    )
    assert response.status_code == 429
