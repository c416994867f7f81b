"""Property-based requests generated from /api/v1/openapi.json (schemathesis), as an operator
admin over seeded data: no 5xx, and every answer matches what the document declares."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import checks
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import NullPool

from chargegroups.app import create_app
from chargegroups.config import Settings
from chargegroups.database import (
    create_engine,
    create_read_pool,
    create_sessionmaker,
    unit_of_work,
)
from tests.fixtures.factories import (
    add_member,
    bearer,
    link_scope,
    make_account,
    make_charger,
    make_driver_token,
    make_group,
    make_operator,
    make_user,
)

MAX_EXAMPLES = 15
# What this test promises: no 5xx, and status, media type, headers and body as documented.
# (Rule-based 422s on schema-valid input, e.g. an unknown account id, are by design.)
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


async def _seed(database_url: str) -> dict[str, str]:
    """A small network; returns the admin's Authorization header and ids by path name."""
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        async with unit_of_work(create_sessionmaker(engine)) as s:
            world = await make_operator(s)
            acme = await make_account(s, world.operator, domains=("acme.example",))
            driver = await make_user(s, world.operator, acme)
            group = await make_group(s, world.operator, account=acme, financial_owner=driver)
            glob = await make_group(s, world.operator)
            await add_member(s, group, driver)
            await add_member(s, glob, driver)
            charger = await make_charger(s, world.operator, account=acme)
            await link_scope(s, charger, group)
            token = await make_driver_token(s, driver)
            return {
                **await bearer(s, world.admin),
                "group_id": group.id,
                "charger_id": charger.id,
                "account_id": acme.id,
                "user_id": driver.id,
                "token_id": token.id,
            }
    finally:
        await engine.dispose()


def _in_own_loop(database_url: str) -> dict[str, str]:
    # The ASGI calls below run in their own event loops: seed and serve on connections that
    # belong to no other loop (NullPool), apart from the suite's own.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _seed(database_url)).result()


@pytest.fixture
def api_schema(settings: Settings, engine: AsyncEngine) -> Iterator[schemathesis.BaseSchema]:
    app = create_app(settings)
    unpooled = create_engine(settings.database_url, poolclass=NullPool)
    app.state.sessionmaker = create_sessionmaker(unpooled)
    app.state.read_pool = create_read_pool(settings.database_url, size=0)
    seeded = _in_own_loop(settings.database_url)
    app.state.auth_headers = {"Authorization": seeded.pop("Authorization")}
    app.state.known_ids = seeded
    yield schemathesis.openapi.from_asgi("/api/v1/openapi.json", app).exclude(
        path="/api/v1/auth/logout"  # would revoke the token the other calls use
    )


def test_api_answers_as_documented(api_schema: schemathesis.BaseSchema) -> None:
    # Each operation is its own Hypothesis run (schemathesis' pytest plugin does not yet
    # support this pytest); failures of all operations are gathered, then reported.
    headers = api_schema.app.state.auth_headers
    known = api_schema.app.state.known_ids
    failures: list[str] = []
    for result in api_schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy(), use_known=st.booleans())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def call(case: schemathesis.Case, use_known: bool) -> None:
            if use_known and case.path_parameters:
                # Half the cases aim at seeded objects, so real answers get validated too.
                for name in case.path_parameters:
                    case.path_parameters[name] = known.get(name, case.path_parameters[name])
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            call()
        except (Exception, BaseExceptionGroup) as failure:
            failures.append(f"{operation.label}: {failure}")
    assert failures == [], "\n\n".join(failures)
