from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from chargegroups.app import create_app, dispose
from chargegroups.config import Settings


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


async def test_the_limit_counts_for_every_process_of_the_deployment(app_settings, engine) -> None:
    """Two applications on one database (two workers, two nodes) share one count (N2)."""
    limited = app_settings.model_copy(update={"public_rate_limit": 2})
    apps = [create_app(limited), create_app(limited)]
    try:
        answers = []
        for n in range(3):
            transport = httpx.ASGITransport(app=apps[n % 2], client=("10.99.0.1", 1))
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                answers.append(
                    await http.post("/api/v1/verify-email", json={"token": f"cg_ver_{n}"})
                )
    finally:
        for app in apps:
            await dispose(app)
    assert [a.status_code for a in answers] == [404, 404, 429]
    assert int(answers[2].headers["Retry-After"]) >= 1
