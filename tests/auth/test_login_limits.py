"""Failed logins are limited for the whole deployment (N2) and never slow other requests."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from chargegroups.app import create_app, dispose
from chargegroups.config import Settings
from chargegroups.kit import secrets
from chargegroups.limits.counters import FailureLimits, Limits
from tests.auth.test_login import login
from tests.fixtures.factories import PASSWORD, bearer, make_operator

FREE = 5  # Settings.auth_free_failures
PER_ADDRESS = 20


@pytest.fixture
async def frozen(app_settings: Settings, sessionmaker) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an application whose limits' clock stands still: a refusal lasts."""
    settings = app_settings.model_copy(update={"auth_free_failures_per_address": PER_ADDRESS})
    app = create_app(settings)
    instant = datetime(2026, 12, 3, 12, tzinfo=UTC)
    app.state.failure_limits = FailureLimits.from_settings(
        Limits(sessionmaker, clock=lambda: instant), settings
    )
    transport = httpx.ASGITransport(app=app, client=("10.98.0.1", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        yield http
    await dispose(app)


async def test_after_the_free_failures_even_the_right_password_is_refused(uow, frozen) -> None:
    async with uow() as s:
        world = await make_operator(s)
    slug, email = world.operator.slug, world.admin.email
    wrong = [await login(frozen, slug, email, "wrong password") for _ in range(FREE + 2)]
    right = await login(frozen, slug, email, PASSWORD)
    # The failure after the free ones refuses the email: the next attempt is not even checked.
    assert [r.status_code for r in wrong] == [401] * (FREE + 1) + [429]
    assert right.status_code == 429 and right.json()["code"] == "rate_limited"
    assert int(right.headers["Retry-After"]) >= 1


async def test_known_and_unknown_users_are_refused_alike(uow, frozen) -> None:
    async with uow() as s:
        world = await make_operator(s)
    slug = world.operator.slug
    known = [await login(frozen, slug, world.admin.email, "wrong") for _ in range(FREE + 2)]
    unknown = [await login(frozen, slug, "nobody@example.com", "wrong") for _ in range(FREE + 2)]
    assert [r.status_code for r in known] == [401] * (FREE + 1) + [429]
    assert [r.status_code for r in known] == [r.status_code for r in unknown]
    assert [r.json()["detail"] for r in known] == [r.json()["detail"] for r in unknown]


async def test_a_right_password_after_a_few_typos_forgets_them(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
    slug, email = world.operator.slug, world.admin.email
    for _ in range(FREE - 1):
        await login(client, slug, email, "typo")
    assert (await login(client, slug, email, PASSWORD)).status_code == 200
    typos = [await login(client, slug, email, "typo") for _ in range(FREE)]
    assert {r.status_code for r in typos} == {401}


async def test_one_address_guessing_many_emails_is_refused(uow, frozen) -> None:
    answers = [await login(frozen, "op", f"u{n}@example.com", "x") for n in range(PER_ADDRESS + 2)]
    assert [a.status_code for a in answers] == [401] * (PER_ADDRESS + 1) + [429]


async def test_other_requests_are_answered_while_password_checks_wait(uow, client) -> None:
    """argon2 runs on its own threads: with every one of them busy, logins wait and the rest
    of the API answers."""
    async with uow() as s:
        world = await make_operator(s)
        headers = await bearer(s, world.admin)
    loop = asyncio.get_running_loop()
    release = threading.Event()
    busy = [
        loop.run_in_executor(secrets.PASSWORD_THREADS, release.wait)
        for _ in range(secrets.PASSWORD_THREAD_COUNT)
    ]
    logins = [
        asyncio.create_task(login(client, world.operator.slug, f"u{n}@example.com", "guess"))
        for n in range(FREE)
    ]
    try:
        me = await client.get("/api/v1/me", headers=headers)
        assert me.status_code == 200
        assert not any(task.done() for task in logins)
    finally:
        release.set()
    await asyncio.gather(*busy)
    assert [(await task).status_code for task in logins] == [401] * FREE
