"""The read-only path: sessions that cannot write, the driver-level fetch, a lost connection."""

from __future__ import annotations

from datetime import timedelta, timezone

import httpx
import pytest
from sqlalchemy import bindparam, select, text
from sqlalchemy.engine import make_url

from chargegroups.app import create_app, dispose
from chargegroups.auth.service import issue_token
from chargegroups.database import (
    ReadOnlyViolation,
    create_read_engine,
    create_read_sessionmaker,
    fetch_rows,
)
from chargegroups.kit.clock import utcnow
from chargegroups.models import AccessToken, Operator
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


async def test_a_read_session_refuses_to_write_and_nothing_is_written(uow, engine) -> None:
    async with uow() as s:
        world = await make_operator(s)
    read_engine = create_read_engine(engine)
    try:
        async with create_read_sessionmaker(read_engine)() as s:
            operator = await s.get_one(Operator, world.operator.id)
            operator.name = "Changed through a read"
            with pytest.raises(ReadOnlyViolation):
                await s.flush()
    finally:
        await read_engine.dispose()
    async with uow() as s:
        assert (await s.get_one(Operator, world.operator.id)).name != "Changed through a read"


async def test_fetch_rows_binds_values_through_their_column_types(uow) -> None:
    """A timezone-aware instant compares as the ORM stored it, on both databases (SQLite keeps
    text): the token is live a microsecond before it expires and not at that instant, also when
    ``now`` is given in another zone."""
    expires = utcnow().replace(microsecond=500_000) + timedelta(hours=1)
    async with uow() as s:
        world = await make_operator(s)
        issued = await issue_token(s, world.admin, kind="login", expires_at=expires)
        params = {"user_id": world.admin.id}
        plus_two = timezone(timedelta(hours=2))
        just_before = (expires - timedelta(microseconds=1)).astimezone(plus_two)
        live = await fetch_rows(s, _LIVE, {**params, "now": just_before})
        expired = await fetch_rows(s, _LIVE, {**params, "now": expires.astimezone(plus_two)})
    assert [tuple(r) for r in live] == [(issued.record.id,)]
    assert list(expired) == []


@pytest.mark.postgres_only
async def test_a_dropped_connection_is_a_503_once_then_the_pool_reconnects(
    uow, app_settings
) -> None:
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
            # The server ends the application's connections, as a restart would.
            async with uow() as s:
                ended = await s.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE application_name = :name"
                    ),
                    {"name": _DROPPED},
                )
                assert any(row[0] for row in ended)
            lost = await http.post("/api/v1/decisions", json=body, headers=headers)
            assert_problem(lost, 503, "database_unavailable")
            assert lost.headers["retry-after"] == "1"
            again = await http.post("/api/v1/decisions", json=body, headers=headers)
            assert again.status_code == 200, again.text
            assert again.json()["status"] == first.json()["status"]
    finally:
        await dispose(app)
