"""/healthz and /readyz over HTTP: ready only when the database answers, is migrated and
(where there is one) the change listener is connected."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from chargegroups import migrate
from chargegroups.app import create_app, dispose
from chargegroups.config import Settings
from chargegroups.news import ChangeListener
from tests.fixtures.databases import (
    create_database,
    drop_database,
    empty_database,
    postgres_database_named,
)
from tests.rest.test_problems import assert_problem


def _client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://t")


@pytest.fixture
async def app_on(settings: Settings) -> AsyncIterator[list[FastAPI]]:
    """Applications on other databases, listening for other nodes' news as serving would (on
    PostgreSQL), disposed of at the end."""
    apps: list[FastAPI] = []
    yield apps
    for app in apps:
        if isinstance(app.state.change_listener, ChangeListener):
            await app.state.change_listener.stop()
        await dispose(app)


async def _serving(app: FastAPI) -> FastAPI:
    """What the lifespan starts that readiness looks at: the change listener."""
    if isinstance(app.state.change_listener, ChangeListener):
        await app.state.change_listener.start()
    return app


async def _ready_eventually(http: httpx.AsyncClient, seconds: float = 20.0) -> bool:
    """Readiness, polled: a listener that lost its database reconnects with backoff."""
    deadline = asyncio.get_running_loop().time() + seconds
    while (await http.get("/readyz")).status_code != 200:
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True


async def test_healthz_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_answers_ready_on_a_migrated_database(
    settings: Settings, app_on: list[FastAPI]
) -> None:
    app = await _serving(create_app(settings))
    app_on.append(app)
    async with _client(app) as http:
        response = await http.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ready"}


async def test_readyz_is_503_until_the_database_is_migrated(
    settings: Settings, tmp_path: Path, app_on: list[FastAPI]
) -> None:
    with empty_database(settings, tmp_path) as url:
        await _migrated_later_is_ready(settings, url, app_on)


async def _migrated_later_is_ready(settings: Settings, url: str, app_on: list[FastAPI]) -> None:
    app = await _serving(create_app(settings.model_copy(update={"database_url": url})))
    app_on.append(app)
    async with _client(app) as http:
        response = await http.get("/readyz")
        assert_problem(response, 503, "migrations_pending")
        assert response.json()["expected"] == sorted(migrate.heads())
        assert response.json()["applied"] == []

        await asyncio.to_thread(migrate.upgrade, url)
        assert await _ready_eventually(http)


@dataclass
class _Listener:
    listening: bool


async def test_readyz_is_503_while_the_change_listener_is_disconnected(
    settings: Settings, app_on: list[FastAPI]
) -> None:
    app = create_app(settings)
    app_on.append(app)
    app.state.change_listener = _Listener(listening=False)
    async with _client(app) as http:
        assert_problem(await http.get("/readyz"), 503, "change_listener_disconnected")
        app.state.change_listener.listening = True
        assert (await http.get("/readyz")).status_code == 200
        app.state.change_listener = None  # this node needs none
        assert (await http.get("/readyz")).status_code == 200


@pytest.mark.postgres_only
async def test_readyz_is_503_while_the_database_is_gone_and_200_when_it_returns(
    settings: Settings, app_on: list[FastAPI]
) -> None:
    with postgres_database_named(settings) as (url, admin_dsn, name):
        app = await _serving(create_app(settings.model_copy(update={"database_url": url})))
        app_on.append(app)
        async with _client(app) as http:
            assert_problem(await http.get("/readyz"), 503, "database_unavailable")

            create_database(admin_dsn, name)
            await asyncio.to_thread(migrate.upgrade, url)
            assert await _ready_eventually(http)

            drop_database(admin_dsn, name)  # its connections are ended
            assert_problem(await http.get("/readyz"), 503, "database_unavailable")

            create_database(admin_dsn, name)
            await asyncio.to_thread(migrate.upgrade, url)
            # The pool's dropped connections were discarded by the failure; a new one answers,
            # and the listener is connected again.
            assert await _ready_eventually(http)
