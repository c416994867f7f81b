"""Engine, sessions and the unit of work. Edges own the transaction; services only flush."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Select, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(
    url: str, *, pool_size: int = 20, max_overflow: int = 10, **kwargs: Any
) -> AsyncEngine:
    # The pool holds as many connections as requests run at once: a connection over the pool's
    # size is closed when it is returned, so a smaller pool under load opens a new connection
    # per request (PostgreSQL measured: 2.4 times fewer decisions per second at 16 clients;
    # SQLite: a new aiosqlite thread and the PRAGMAs each time).
    if "poolclass" not in kwargs and not _in_memory(url):  # NullPool, StaticPool take no sizes
        kwargs.update(pool_size=pool_size, max_overflow=max_overflow)
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # No pre-ping: it is a round trip on every checkout. A connection the server dropped fails
    # one request (503) and SQLAlchemy then discards the whole pool; recycling bounds its age.
    return create_async_engine(url, pool_recycle=1800, **kwargs)


def _in_memory(url: str) -> bool:
    return is_sqlite(url) and make_url(url).database in (None, "", ":memory:")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


class ReadOnlyViolation(RuntimeError):
    """A read-only session was asked to write: the caller must use a transaction instead."""


class _ReadOnlySession(Session):
    def flush(self, objects: Any = None) -> None:
        if self.new or self.dirty or self.deleted:
            raise ReadOnlyViolation("a read-only session cannot write; use a unit of work")
        super().flush(objects)


def create_read_engine(
    engine: AsyncEngine, *, pool_size: int = 20, max_overflow: int = 10
) -> AsyncEngine:
    """The engine read-only sessions run on: a second pool whose connections are in autocommit
    from birth and are not reset when returned.

    A read pays no BEGIN and no COMMIT or ROLLBACK round trip (on SQLite, no hop to aiosqlite's
    thread for them), and no switch of the connection's mode per checkout (measured on
    PostgreSQL: that switch costs more than it saves). Each statement still reads one
    consistent snapshot, which is all a one-statement read needs. An in-memory SQLite database
    exists once per connection, so there the engine itself serves reads.
    """
    url = engine.url.render_as_string(hide_password=False)
    if _in_memory(url):
        return engine
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        isolation_level="AUTOCOMMIT",
        pool_reset_on_return=None,  # nothing to reset: no transaction is ever left open
    )


def create_read_sessionmaker(read_engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for work that only reads (a decision, authenticating the caller). Writing
    through one raises :class:`ReadOnlyViolation` instead of half-happening."""
    return async_sessionmaker(
        read_engine, expire_on_commit=False, autoflush=False, sync_session_class=_ReadOnlySession
    )


@dataclass(frozen=True, slots=True)
class _Prepared:
    sql: str
    positions: tuple[str, ...] | None  # parameter order for a positional driver (sqlite3)
    defaults: dict[str, Any]
    processors: dict[str, Callable[[Any], Any]]  # each bound value's column type conversion


_PREPARED: dict[tuple[str, int], _Prepared] = {}


def _prepare(stmt: Select[Any], dialect: Dialect) -> _Prepared:
    compiled = stmt.compile(dialect=dialect)
    processors: dict[str, Callable[[Any], Any]] = {}
    for name, bind in compiled.binds.items():
        processor = bind.type.bind_processor(dialect)
        if processor is not None:
            processors[name] = processor
    positions = None if compiled.positiontup is None else tuple(compiled.positiontup)
    return _Prepared(str(compiled), positions, dict(compiled.params), processors)


async def fetch_rows(
    session: AsyncSession, stmt: Select[Any], params: dict[str, Any]
) -> Sequence[Sequence[Any]]:
    """The rows of a statement built once at import, through the driver itself.

    For the few statements every request or every Authorize runs: SQLAlchemy's async result
    machinery costs more than running them. On PostgreSQL the statement is a server-side
    prepared statement; on SQLite it runs on the sqlite3 connection aiosqlite drives, without
    the hop to aiosqlite's thread (the session awaits one statement at a time, so that thread
    is idle meanwhile, and WAL readers never wait for writers). Bound values go through their
    column types; the values come back raw (on SQLite a datetime is text, a boolean 0 or 1).
    """
    conn = await session.connection()
    dialect = conn.dialect
    driver = dialect.driver
    if driver not in ("aiosqlite", "psycopg"):
        result = await conn.execute(stmt, params)
        return list(result.all())
    key = (driver, id(stmt))
    prepared = _PREPARED.get(key)
    if prepared is None:
        prepared = _PREPARED[key] = _prepare(stmt, dialect)
    values = {**prepared.defaults, **params}
    for name, processor in prepared.processors.items():
        values[name] = processor(values[name])
    # The pooled connection the session already holds, without get_raw_connection()'s hop
    # through SQLAlchemy's greenlet (a sixth of this function's time); that hop is only
    # needed to revalidate a connection invalidated earlier in the session.
    sync = conn.sync_connection
    pooled = (
        sync.connection
        if sync is not None and not sync.invalidated
        else await conn.get_raw_connection()
    )
    raw: Any = pooled.driver_connection
    try:
        if driver == "aiosqlite":
            assert prepared.positions is not None
            args = [values[name] for name in prepared.positions]
            sqlite = getattr(raw, "_conn", None)  # the sqlite3 connection aiosqlite drives
            if sqlite is not None:
                rows: list[Any] = sqlite.execute(prepared.sql, args).fetchall()
                return rows
            return list(await raw.execute_fetchall(prepared.sql, args))
        async with raw.cursor() as cursor:
            await cursor.execute(prepared.sql, values, prepare=True)
            return list(await cursor.fetchall())
    except (sqlite3.OperationalError, psycopg.OperationalError) as exc:
        # What SQLAlchemy does for its own statements: a connection the server dropped is
        # discarded (with the rest of the pool), and the error is SQLAlchemy's, which the
        # edges answer as "database unavailable, retry".
        lost = driver == "psycopg" and raw.closed
        if lost:
            await conn.invalidate(exc)
        raise OperationalError(prepared.sql, None, exc, connection_invalidated=lost) from exc


@asynccontextmanager
async def unit_of_work(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One transaction: committed when the block ends, rolled back if it raises."""
    async with sessionmaker() as session, session.begin():
        yield session
