"""The read path: a pool that cannot write, the driver-level fetch, a lost connection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta, timezone
from typing import Any, cast

import httpx
import pytest
from sqlalchemy import bindparam, func, literal, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from chargegroups.app import create_app, dispose
from chargegroups.auth.service import issue_token
from chargegroups.database import ReadPool, create_read_pool, fetch_rows
from chargegroups.kit.clock import from_database, utcnow
from chargegroups.models import AccessToken, Operator
from chargegroups.models.base import UTCDateTime
from tests.fixtures.factories import (
    bearer,
    make_charger,
    make_driver_token,
    make_operator,
    make_user,
)
from tests.rest.test_problems import assert_problem

_DROPPED = "chargegroups-dropped-connection-test"
_LIVE = select(AccessToken.id).where(
    AccessToken.user_id == bindparam("user_id"), AccessToken.expires_at > bindparam("now")
)


@pytest.fixture
async def read_pool(settings) -> AsyncIterator[ReadPool]:
    pool = create_read_pool(settings.database_url, size=2)
    yield pool
    await pool.close()


async def test_the_read_pool_cannot_write_and_nothing_is_written(uow, read_pool) -> None:
    """Its connections are read-only at the database: a write sent through it by mistake fails
    there."""
    async with uow() as s:
        world = await make_operator(s)
    rename = (
        update(Operator)
        .where(Operator.id == bindparam("id"))
        .values(name="Changed through a read")
        .returning(Operator.id)
    )
    with pytest.raises(Exception, match=r"read-only|readonly"):
        await read_pool.rows(cast(Any, rename), {"id": world.operator.id})
    async with uow() as s:
        assert (await s.get_one(Operator, world.operator.id)).name == world.operator.name


async def test_the_read_pool_sees_what_was_committed_since_its_last_read(uow, read_pool) -> None:
    """No snapshot outlives its statement: each read sees every commit made before it."""
    async with uow() as s:
        world = await make_operator(s)
    names = select(Operator.name).where(Operator.id == bindparam("id"))
    assert [tuple(r) for r in await read_pool.rows(names, {"id": world.operator.id})] == [
        (world.operator.name,)
    ]
    async with uow() as s:
        (await s.get_one(Operator, world.operator.id)).name = "Renamed"
    assert [tuple(r) for r in await read_pool.rows(names, {"id": world.operator.id})] == [
        ("Renamed",)
    ]


@pytest.mark.parametrize("through", ["session", "read pool"])
async def test_fetch_rows_binds_values_through_their_column_types(
    uow, read_pool, through: str
) -> None:
    """A timezone-aware instant compares as the ORM stored it, on both databases (SQLite keeps
    text) and both ways of reading: the token is live a microsecond before it expires and not
    at that instant, also when ``now`` is given in another zone."""
    expires = utcnow().replace(microsecond=500_000) + timedelta(hours=1)
    async with uow() as s:
        world = await make_operator(s)
        issued = await issue_token(s, world.admin, kind="login", expires_at=expires)
    params = {"user_id": world.admin.id}
    plus_two = timezone(timedelta(hours=2))
    just_before = (expires - timedelta(microseconds=1)).astimezone(plus_two)
    async with uow() as s:
        db = s if through == "session" else read_pool
        live = await fetch_rows(db, _LIVE, {**params, "now": just_before})
        expired = await fetch_rows(db, _LIVE, {**params, "now": expires.astimezone(plus_two)})
        # An anonymous bind (a literal) goes through its type too.
        echoed = await fetch_rows(db, select(literal(just_before, UTCDateTime())), {})
    assert [tuple(r) for r in live] == [(issued.record.id,)]
    assert list(expired) == []
    assert from_database(echoed[0][0]) == just_before


async def _end_backends(uow, application_name: str) -> None:
    """The server ends these connections, as a restart would."""
    async with uow() as s:
        ended = await s.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = :name AND pid <> pg_backend_pid()"
            ),
            {"name": application_name},
        )
        assert any(row[0] for row in ended)


@pytest.mark.postgres_only
async def test_a_read_cut_off_by_the_server_is_unavailable_then_the_pool_reconnects(
    uow, settings
) -> None:
    url = make_url(settings.database_url).update_query_dict({"application_name": _DROPPED})
    pool = create_read_pool(url.render_as_string(hide_password=False), size=1)
    try:
        slow = asyncio.create_task(pool.rows(select(func.pg_sleep(30)), {}))
        await asyncio.sleep(0.3)  # the read is under way on the pool's one connection
        await _end_backends(uow, _DROPPED)
        with pytest.raises(OperationalError) as cut_off:
            await asyncio.wait_for(slow, 10)
        assert cut_off.value.connection_invalidated
        assert [tuple(r) for r in await pool.rows(select(literal(1)), {})] == [(1,)]
    finally:
        await pool.close()


@pytest.mark.postgres_only
async def test_reads_beyond_the_pool_size_wait_for_a_connection(uow, settings) -> None:
    name = "chargegroups-read-pool-size-test"
    url = make_url(settings.database_url).update_query_dict({"application_name": name})
    pool = create_read_pool(url.render_as_string(hide_password=False), size=2)
    count = text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name")
    try:
        reads = asyncio.gather(
            *(pool.rows(select(func.pg_sleep(0.2), literal(i)), {}) for i in range(6))
        )
        await asyncio.sleep(0.1)
        async with uow() as s:
            assert (await s.execute(count, {"name": name})).scalar_one() == 2
        assert sorted(row[1] for rows in await reads for row in rows) == list(range(6))
    finally:
        await pool.close()
    async with uow() as s:  # closing the pool closed its connections
        assert (await s.execute(count, {"name": name})).scalar_one() == 0


@pytest.mark.postgres_only
async def test_after_a_database_restart_decisions_answer_again_at_once(uow, app_settings) -> None:
    """The connections an application held are ended: the next decision is answered (the pool
    noticed and reconnected) or, at most once, refused with 503 and Retry-After; then answered."""
    async with uow() as s:
        world = await make_operator(s)
        charger = await make_charger(s, world.operator)
        driver = await make_user(s, world.operator, world.default_account)
        token = await make_driver_token(s, driver)
        headers = await bearer(s, world.admin)
    # Its own application name, so only this app's connections are ended, not the suite's.
    url = make_url(app_settings.database_url).update_query_dict({"application_name": _DROPPED})
    app = create_app(
        app_settings.model_copy(update={"database_url": url.render_as_string(hide_password=False)})
    )
    body = {"charger_id": charger.id, "token_uid": token.uid}
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            first = await http.post("/api/v1/decisions", json=body, headers=headers)
            assert first.status_code == 200, first.text
            await _end_backends(uow, _DROPPED)
            after = [
                await http.post("/api/v1/decisions", json=body, headers=headers) for _ in range(3)
            ]
    finally:
        await dispose(app)
    refused = [r for r in after if r.status_code != 200]
    assert len(refused) <= 1 and after[-1].status_code == 200, [r.text for r in after]
    for response in refused:
        assert_problem(response, 503, "database_unavailable")
        assert response.headers["retry-after"] == "1"
    assert after[-1].json()["status"] == first.json()["status"]
