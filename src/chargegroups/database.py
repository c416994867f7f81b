"""Engine, sessions and the unit of work. Edges own the transaction; services only flush."""

from __future__ import annotations

import asyncio
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import asyncpg
import psycopg
from sqlalchemy import Select, event
from sqlalchemy.dialects.postgresql import asyncpg as postgresql_asyncpg
from sqlalchemy.dialects.sqlite import pysqlite as sqlite_pysqlite
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


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
    # Every process that commits through these sessions announces its commits to the other
    # nodes (N1): the hook is registered when ``news`` is imported, which needs the features'
    # modules, so it is imported here, when sessions are first made, not when this module is.
    from chargegroups import news  # noqa: F401

    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@dataclass(frozen=True, slots=True)
class _Prepared:
    sql: str
    positions: tuple[str, ...] | None  # parameter order for a positional driver
    defaults: dict[str, Any]
    processors: dict[str, Callable[[Any], Any]]  # each bound value's column type conversion

    def values(self, params: dict[str, Any]) -> dict[str, Any]:
        values = {**self.defaults, **params}
        for name, processor in self.processors.items():
            values[name] = processor(values[name])
        return values

    def arguments(self, params: dict[str, Any]) -> list[Any]:
        """The bound values in the order of a positional driver's placeholders."""
        assert self.positions is not None
        values = self.values(params)
        return [values[name] for name in self.positions]


def _prepare(stmt: Select[Any], dialect: Dialect) -> _Prepared:
    compiled = stmt.compile(dialect=dialect)
    processors: dict[str, Callable[[Any], Any]] = {}
    for bind, name in compiled.bind_names.items():  # by the name rendered, also for literals
        processor = bind.type.bind_processor(dialect)
        if processor is not None:
            processors[name] = processor
    positions = None if compiled.positiontup is None else tuple(compiled.positiontup)
    return _Prepared(str(compiled), positions, dict(compiled.params), processors)


class _Statements:
    """Statements built once at import, compiled once per dialect (keyed by identity: they
    live as long as the process)."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self._compiled: dict[int, _Prepared] = {}

    def __getitem__(self, stmt: Select[Any]) -> _Prepared:
        prepared = self._compiled.get(id(stmt))
        if prepared is None:
            prepared = self._compiled[id(stmt)] = _prepare(stmt, self.dialect)
        return prepared


class ReadPool(ABC):
    """One-statement reads for the hot paths, on the driver itself and outside any transaction.

    A decision over HTTP and an OCPP ``Authorize`` each read once (the caller's grants are
    mostly cached): through an ``AsyncSession`` that read cost more than everything else the
    request does (the session, its connection checkout and return through SQLAlchemy's
    greenlet, the result machinery; docs/benchmarks.md). Here a read is a prepared statement on
    a pooled driver connection: on PostgreSQL asyncpg, whichever driver the URL names for
    transactions (asyncpg's round trip costs about half of psycopg's CPU), and on SQLite one
    sqlite3 connection used on the event loop's thread (in WAL mode a reader never waits for a
    writer). Each statement reads one consistent snapshot, which is all a one-statement read
    needs.

    The connections are read-only at the database (PostgreSQL ``default_transaction_read_only``,
    SQLite ``query_only``): nothing written through the pool can happen, even by mistake. Values
    come back raw (on SQLite a datetime is text, a boolean 0 or 1).
    """

    @abstractmethod
    async def rows(self, stmt: Select[Any], params: dict[str, Any]) -> Sequence[Sequence[Any]]:
        """The raw rows of ``stmt`` (built once, at import) with ``params`` bound."""

    @abstractmethod
    async def close(self) -> None: ...


class _PostgresReadPool(ReadPool):
    """Up to ``size`` asyncpg connections, opened as reads need them and kept.

    Not asyncpg's own pool: its release runs in a task of its own and its checkout through
    timeouts, about a third of the CPU of a read (docs/benchmarks.md). A read holds a connection
    for one statement, so a list of idle ones and a count of free places are all it takes.
    """

    def __init__(self, url: str, *, size: int) -> None:
        # asyncpg takes the URL as libpq does; any other query parameter (application_name, ...)
        # becomes a server setting.
        self._dsn = make_url(url).set(drivername="postgresql").render_as_string(False)
        self._size = size
        self._statements = _Statements(postgresql_asyncpg.dialect())  # type: ignore[no-untyped-call]
        self._idle: list[asyncpg.Connection] = []
        self._places = asyncio.Semaphore(size)  # bound to the event loop that first waits

    async def _connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(self._dsn, server_settings=_READ_ONLY)

    async def rows(self, stmt: Select[Any], params: dict[str, Any]) -> Sequence[Sequence[Any]]:
        prepared = self._statements[stmt]
        try:
            return await self._fetch(prepared.sql, prepared.arguments(params))
        except _POSTGRES_UNAVAILABLE as exc:
            # SQLAlchemy's error, which the edges answer as "database unavailable, retry".
            raise OperationalError(prepared.sql, None, exc, connection_invalidated=True) from exc

    async def _fetch(self, sql: str, arguments: list[Any]) -> list[Any]:
        if not self._size:
            connection = await self._connect()
            try:
                return list(await connection.fetch(sql, *arguments))
            finally:
                await connection.close()
        async with self._places:
            connection = self._idle.pop() if self._idle else await self._connect()
            try:
                rows = await connection.fetch(sql, *arguments)
            except BaseException:
                connection.terminate()  # lost, cut off or in doubt: the next read opens another
                raise
            self._idle.append(connection)
            return list(rows)

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.close()


_READ_ONLY = {"default_transaction_read_only": "on"}


# The server went away or ended the connection (a restart, pg_terminate_backend). A
# termination that arrives while the connection is idle can leave asyncpg's protocol in a state
# it reports as an internal error on the next query.
_POSTGRES_UNAVAILABLE = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.exceptions.OperatorInterventionError,
)


class _SqliteReadPool(ReadPool):
    # A sqlite3 call runs to its end on the event loop's thread, so one connection serves every
    # read. In WAL mode readers do not wait for writers; a read that finds the file locked all
    # the same (a checkpoint resetting the log) waits this long, then answers "unavailable".
    BUSY_TIMEOUT_SECONDS = 1.0

    def __init__(self, url: str) -> None:
        database = make_url(url).database
        if _in_memory(url) or database is None:
            raise ValueError("an in-memory SQLite database exists once per connection")
        self._path = database
        self._statements = _Statements(sqlite_pysqlite.dialect())
        self._connection: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            connection = sqlite3.connect(
                self._path,
                timeout=self.BUSY_TIMEOUT_SECONDS,
                isolation_level=None,  # autocommit: each statement its own snapshot
                check_same_thread=False,  # made by whichever thread reads first
            )
            connection.execute("PRAGMA query_only=ON")
            self._connection = connection
        return self._connection

    async def rows(self, stmt: Select[Any], params: dict[str, Any]) -> Sequence[Sequence[Any]]:
        prepared = self._statements[stmt]
        try:
            return self._connect().execute(prepared.sql, prepared.arguments(params)).fetchall()
        except sqlite3.OperationalError as exc:
            raise OperationalError(prepared.sql, None, exc) from exc

    async def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def create_read_pool(url: str, *, size: int = 30) -> ReadPool:
    """The :class:`ReadPool` of the database at ``url``; ``size``: PostgreSQL connections at
    most, opened as needed (0: a connection of its own per read, for callers that change event
    loops, as the schema fuzzing does)."""
    return _SqliteReadPool(url) if is_sqlite(url) else _PostgresReadPool(url, size=size)


#: Where a prebuilt one-statement read can run: inside a transaction's session (it then sees
#: the transaction's own writes), or on the read pool.
Reads: TypeAlias = AsyncSession | ReadPool

_SESSION_STATEMENTS: dict[str, _Statements] = {}


async def fetch_rows(
    db: Reads, stmt: Select[Any], params: dict[str, Any]
) -> Sequence[Sequence[Any]]:
    """The rows of a statement built once at import, through the driver itself.

    For the few statements every request or every Authorize runs: SQLAlchemy's async result
    machinery costs more than running them. On the read pool see :class:`ReadPool`. In a
    session, on PostgreSQL the statement is a server-side prepared statement; on SQLite it runs
    on the sqlite3 connection aiosqlite drives, without the hop to aiosqlite's thread (the
    session awaits one statement at a time, so that thread is idle meanwhile). Bound values go
    through their column types; the values come back raw.
    """
    if isinstance(db, ReadPool):
        return await db.rows(stmt, params)
    conn = await db.connection()
    dialect = conn.dialect
    driver = dialect.driver
    if driver not in ("aiosqlite", "psycopg"):
        result = await conn.execute(stmt, params)
        return list(result.all())
    statements = _SESSION_STATEMENTS.get(driver)
    if statements is None:
        statements = _SESSION_STATEMENTS[driver] = _Statements(dialect)
    prepared = statements[stmt]
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
            args = prepared.arguments(params)
            sqlite = getattr(raw, "_conn", None)  # the sqlite3 connection aiosqlite drives
            if sqlite is not None:
                rows: list[Any] = sqlite.execute(prepared.sql, args).fetchall()
                return rows
            return list(await raw.execute_fetchall(prepared.sql, args))
        async with raw.cursor() as cursor:
            await cursor.execute(prepared.sql, prepared.values(params), prepare=True)
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
