"""Groups at scale: a group with N members, its member list paged by cursor, a 10 000 add.

    PYTHONPATH=src python bench/groups_scale.py                      # 100 000 members, both DBs
    PYTHONPATH=src python bench/groups_scale.py --members 1000000    # full scale
    PYTHONPATH=src python bench/groups_scale.py --backend sqlite     # or postgres

Rows are loaded in bulk (SQLAlchemy core executemany on SQLite, COPY on PostgreSQL), then the
real services are timed: ``group.service.list_members`` at the first, middle and last page, and
``group.service.add_members`` with 10 000 ids in one call (validation, insert, audit, commit).
PostgreSQL uses a database of its own, created and dropped by the script.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from chargegroups import migrate
from chargegroups.auth.service import subject_for
from chargegroups.database import create_engine, create_sessionmaker, is_sqlite
from chargegroups.group import service
from chargegroups.kit.clock import utcnow
from chargegroups.kit.ids import new_id
from chargegroups.kit.pagination import PageRequest, encode_cursor
from chargegroups.models import Account, GroupMembership, Operator, User, UserGroup
from chargegroups.operator.service import create_operator

PAGE = 100
ADD = 10_000
REPEATS = 5
USER_COLUMNS = (
    "id",
    "operator_id",
    "account_id",
    "email",
    "email_normalized",
    "name",
    "blocked",
    "parent_id_tag",
    "created_at",
)
MEMBERSHIP_COLUMNS = ("id", "operator_id", "group_id", "user_id", "source", "created_at")


def users(operator_id: str, account_id: str, start: int, count: int) -> Iterator[tuple[Any, ...]]:
    now = utcnow()
    for i in range(start, start + count):
        email = f"driver{i}@fleet.example"
        yield (
            new_id(),
            operator_id,
            account_id,
            email,
            email,
            f"Driver {i}",
            False,
            f"B{i:019d}",
            now,
        )


@contextmanager
def database(backend: str, pg_url: str) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}"
        return
    url = make_url(pg_url)
    name = f"cg_bench_{uuid.uuid4().hex[:8]}"
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def bulk(
    session: AsyncSession, table: Any, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    if not rows:
        return
    if is_sqlite(str(session.bind.url)):
        await session.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])
        return
    raw = await session.connection()
    driver = (await raw.get_raw_connection()).driver_connection
    async with (
        driver.cursor() as cursor,
        cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            await copy.write_row(row)


async def build(engine: AsyncEngine, members: int) -> dict[str, Any]:
    sessionmaker = create_sessionmaker(engine)
    started = time.perf_counter()
    async with sessionmaker() as s, s.begin():
        created = await create_operator(
            s,
            slug="bench",
            name="Bench",
            admin_email="admin@bench.example",
            admin_password=uuid.uuid4().hex,
        )
        operator: Operator = created.operator
        account = Account(operator_id=operator.id, name="Fleet", name_normalized="fleet")
        s.add(account)
        await s.flush()
        group = UserGroup(
            operator_id=operator.id,
            name="Everyone",
            name_normalized="everyone",
            scope_kind="account",
            account_id=account.id,
            scope_key=account.id,
        )
        s.add(group)
        await s.flush()
        ids = dict(operator=operator.id, account=account.id, group=group.id, admin=created.admin.id)
    chunk = 50_000
    member_ids: list[str] = []
    for start in range(0, members + ADD, chunk):
        count = min(chunk, members + ADD - start)
        rows = list(users(ids["operator"], ids["account"], start, count))
        async with sessionmaker() as s, s.begin():
            await bulk(s, User.__table__, USER_COLUMNS, rows)
            in_group = rows[: max(0, min(count, members - start))]
            now = utcnow()
            await bulk(
                s,
                GroupMembership.__table__,
                MEMBERSHIP_COLUMNS,
                [(new_id(), ids["operator"], ids["group"], r[0], "import", now) for r in in_group],
            )
        member_ids += [r[0] for r in rows]
    async with engine.begin() as conn:  # committed: statistics from a rolled-back ANALYZE vanish
        if is_sqlite(str(engine.url)):
            # Fold the load's write-ahead log into the file now, not in the first timed write.
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        await conn.exec_driver_sql("ANALYZE")
    ids["build_seconds"] = time.perf_counter() - started
    ids["sorted_members"] = sorted(member_ids[:members])
    ids["extra"] = member_ids[members:]
    return ids


async def timed_page(engine: AsyncEngine, ids: dict[str, Any], cursor: str | None) -> float:
    sessionmaker = create_sessionmaker(engine)
    samples = []
    for _ in range(REPEATS):
        async with sessionmaker() as s:
            subject = await subject_for(s, await s.get_one(User, ids["admin"]))
            started = time.perf_counter()
            page = await service.list_members(
                s, subject, ids["group"], PageRequest(limit=PAGE, cursor=cursor)
            )
            samples.append(time.perf_counter() - started)
            assert len(page.items) == PAGE
    return statistics.median(samples) * 1000


async def run(backend: str, members: int, pg_url: str) -> None:
    with database(backend, pg_url) as url:
        await asyncio.to_thread(migrate.upgrade, url)
        engine = create_engine(url)
        try:
            ids = await build(engine, members)
            ordered = ids["sorted_members"]
            positions = {
                "start": None,
                "middle": encode_cursor(ordered[members // 2]),
                "end": encode_cursor(ordered[members - PAGE - 1]),
            }
            pages = {name: await timed_page(engine, ids, c) for name, c in positions.items()}
            sessionmaker = create_sessionmaker(engine)
            async with sessionmaker() as s:
                subject = await subject_for(s, await s.get_one(User, ids["admin"]))
                await (
                    s.rollback()
                )  # only reads so far; the timed call gets a transaction of its own
                started = time.perf_counter()
                async with s.begin():
                    added = await service.add_members(s, subject, ids["group"], ids["extra"])
                add_seconds = time.perf_counter() - started
            assert len(added.added_user_ids) == ADD
        finally:
            await engine.dispose()
    print(
        f"{backend:9} members={members:>9,}  load={ids['build_seconds']:6.1f}s  "
        f"page({PAGE}) start={pages['start']:6.1f}ms middle={pages['middle']:6.1f}ms "
        f"end={pages['end']:6.1f}ms  add {ADD:,} in one call={add_seconds:5.2f}s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "CHARGEGROUPS_BENCH_DATABASE_URL",
            "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        ),
    )
    args = parser.parse_args()
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    print(f"machine: {os.cpu_count()} CPUs, {cpu}; Python {platform.python_version()}")
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    for backend in backends:
        asyncio.run(run(backend, args.members, args.pg_url))


if __name__ == "__main__":
    main()
