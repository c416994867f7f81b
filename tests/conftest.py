"""Test fixtures: a real database (SQLite file, or PostgreSQL when
CHARGEGROUPS_TEST_DATABASE_URL is set), migrated once per run and emptied between tests."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import httpx
import hypothesis
import psycopg
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from chargegroups import migrate
from chargegroups.app import create_app, dispose
from chargegroups.config import Settings
from chargegroups.database import create_engine, create_sessionmaker, unit_of_work
from chargegroups.models import Base

POSTGRES_URL = os.environ.get("CHARGEGROUPS_TEST_DATABASE_URL")

# No per-example deadline: speed is measured in benchmarks, and on a busy machine a deadline
# fails a correct property for the time it took.
hypothesis.settings.register_profile("chargegroups", deadline=None)
hypothesis.settings.load_profile("chargegroups")


def _fresh_postgres_database(server_url: str) -> Iterator[str]:
    """A database of its own for this run, dropped afterwards: parallel runs never collide."""
    url = make_url(server_url)
    name = f"{url.database or 'chargegroups'}_{uuid.uuid4().hex[:10]}"
    admin_dsn = url.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if POSTGRES_URL:
        yield from _fresh_postgres_database(POSTGRES_URL)
    else:
        path: Path = tmp_path_factory.mktemp("db") / "test.sqlite3"
        yield f"sqlite+aiosqlite:///{path}"


@pytest.fixture(scope="session")
def migrated(database_url: str) -> str:
    migrate.upgrade(database_url)
    return database_url


@pytest.fixture(scope="session")
def settings(migrated: str) -> Settings:
    return Settings(
        database_url=migrated,
        secret_key="test-secret",  # type: ignore[arg-type]
        public_url="http://testserver",
        smtp_url=None,
    )


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings.database_url)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)


# Rows of the servers this run keeps running (their leases as nodes), not of any test.
_SERVERS_STATE = frozenset({"nodes"})


@pytest.fixture(autouse=True)
async def _empty_database(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Every test starts from empty tables (only for tests that touch the database)."""
    yield
    if "engine" not in request.fixturenames:
        return
    engine: AsyncEngine = request.getfixturevalue("engine")
    # DELETE, children first: on the few rows a test leaves it is far cheaper than TRUNCATE,
    # which takes an exclusive lock and new files for every table.
    async with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name not in _SERVERS_STATE:
                await conn.execute(table.delete())


@pytest.fixture
def uow(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> Callable[[], AbstractAsyncContextManager[AsyncSession]]:
    """`async with uow() as session:` — one committed transaction, as an edge would run it."""
    return lambda: unit_of_work(sessionmaker)


@pytest.fixture
async def app_settings(settings: Settings, engine: AsyncEngine) -> Settings:
    return settings


@pytest.fixture(scope="session")
async def shared_app(settings: Settings, engine: AsyncEngine) -> AsyncIterator[FastAPI]:
    """One application per run: building its routes costs most of a second. Tests that need
    other settings build their own with ``create_app(app_settings.model_copy(...))``."""
    app = create_app(settings)
    yield app
    await dispose(app)


_client_addresses = itertools.count(1)


@pytest.fixture
async def client(shared_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """HTTP through the real application (every middleware, handler and dependency).

    Each test calls from an address of its own, so per-client state such as the public rate
    limit never carries over from one test to the next."""
    n = next(_client_addresses)
    address = f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
    transport = httpx.ASGITransport(
        app=shared_app, raise_app_exceptions=False, client=(address, 50000)
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`postgres_only` tests need PostgreSQL's concurrency; on SQLite they are skipped."""
    if POSTGRES_URL:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set CHARGEGROUPS_TEST_DATABASE_URL)")
    for item in items:
        if item.get_closest_marker("postgres_only"):
            item.add_marker(skip)
