from __future__ import annotations

import asyncio
import json

import pytest
from typer.testing import CliRunner

from chargegroups.cli import app
from tests.fixtures.factories import (
    add_member,
    link_scope,
    make_charger,
    make_driver_token,
    make_group,
    make_operator,
    make_user,
)


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, settings) -> CliRunner:  # type: ignore[no-untyped-def]
    from chargegroups.config import get_settings

    monkeypatch.setenv("CHARGEGROUPS_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


async def test_decide_prints_the_decision_with_trace_and_explanation(cli_env, uow) -> None:
    async with uow() as s:
        world = await make_operator(s, slug="cli-op")
        driver = await make_user(s, world.operator, world.default_account)
        token = await make_driver_token(s, driver, uid="CARD42")
        fleet = await make_group(s, world.operator, name="Night fleet")
        await add_member(s, fleet, driver)
        charger = await make_charger(
            s, world.operator, access_mode="private", charge_point_id="CP-9"
        )
        await link_scope(s, charger, fleet)
    args = ["decide", "--operator", "cli-op", "--charger", "CP-9", "--token", token.uid]
    result = await asyncio.to_thread(cli_env.invoke, app, args)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Accepted (accepted_via_group)")
    assert f"group Night fleet ({fleet.id}): applies [grants_access, deciding]" in result.output
    assert "Allowed: a current group of the driver is in this private" in result.output


async def test_decide_json_is_the_api_shape(cli_env, uow) -> None:
    async with uow() as s:
        world = await make_operator(s, slug="cli-json")
        await make_charger(s, world.operator, charge_point_id="CP-10")
    args = ["decide", "--operator", "cli-json", "--charger", "CP-10", "--token", "X", "--json"]
    result = await asyncio.to_thread(cli_env.invoke, app, args)
    assert json.loads(result.output)["reason"] == "token_unknown"


async def test_decide_at_an_unknown_charger_exits_with_an_error(cli_env, uow) -> None:
    async with uow() as s:
        await make_operator(s, slug="cli-none")
    args = ["decide", "--operator", "cli-none", "--charger", "NOPE", "--token", "X"]
    result = await asyncio.to_thread(cli_env.invoke, app, args)
    assert result.exit_code == 2 and "not_found" in result.output
