from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from chargegroups.cli import app
from chargegroups.kit.secrets import verify_password
from chargegroups.models import Grant, Operator, User
from tests.auth.test_login import login
from tests.fixtures.factories import PASSWORD, bearer, make_operator, make_user


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, settings) -> CliRunner:
    from chargegroups.config import get_settings

    monkeypatch.setenv("CHARGEGROUPS_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


async def test_operator_create_makes_operator_default_account_and_admin(
    cli_env, uow, engine
) -> None:
    result = await asyncio.to_thread(
        cli_env.invoke,
        app,
        [
            "operator",
            "create",
            "--slug",
            "volt",
            "--name",
            "Volt",
            "--admin-email",
            "Boss@Volt.example",
            "--admin-password",
            "long-enough-pw",
        ],
    )
    assert result.exit_code == 0, result.output
    async with uow() as s:
        operator = (await s.execute(select(Operator).where(Operator.slug == "volt"))).scalar_one()
        assert result.output.strip() == operator.id
        admin = (await s.execute(select(User).where(User.operator_id == operator.id))).scalar_one()
        assert admin.email_normalized == "boss@volt.example"
        assert admin.password_hash and "long-enough-pw" not in admin.password_hash
        grant = (await s.execute(select(Grant).where(Grant.user_id == admin.id))).scalar_one()
        assert grant.role == "operator_admin"


async def test_operator_create_refuses_a_taken_slug_with_exit_code_2(cli_env, engine) -> None:
    args = [
        "operator",
        "create",
        "--slug",
        "dup",
        "--name",
        "D",
        "--admin-email",
        "a@d.example",
        "--admin-password",
        "long-enough-pw",
    ]
    assert (await asyncio.to_thread(cli_env.invoke, app, args)).exit_code == 0
    again = await asyncio.to_thread(cli_env.invoke, app, args)
    assert again.exit_code == 2
    assert "slug_taken" in again.output


async def test_demo_loads_once_and_if_empty_skips_a_filled_database(cli_env, uow, engine) -> None:
    first = await asyncio.to_thread(cli_env.invoke, app, ["demo"])
    assert first.exit_code == 0, first.output
    assert "admin@demo.example" in first.output
    second = await asyncio.to_thread(cli_env.invoke, app, ["demo", "--if-empty"])
    assert second.exit_code == 0 and "not loaded" in second.output
    async with uow() as s:
        assert (await s.execute(select(func.count()).select_from(Operator))).scalar_one() == 1


async def decide_json(runner: CliRunner, charger: str, token: str) -> dict[str, object]:
    args = ["decide", "--operator", "demo", "--charger", charger, "--token", token, "--json"]
    result = await asyncio.to_thread(runner.invoke, app, args)
    assert result.exit_code == 0, result.output
    decision: dict[str, object] = json.loads(result.output)
    return decision


async def test_the_demo_network_decides_like_its_story(cli_env, uow, engine) -> None:
    """Dana of Acme's van pool charges at Acme's private depot with 20 % off, paid by Acme;
    Sam of Northwind is refused there and charges on the public street charger himself."""
    assert (await asyncio.to_thread(cli_env.invoke, app, ["demo"])).exit_code == 0
    dana = await decide_json(cli_env, "ACME-DEPOT-1", "DEMO0001")
    assert (dana["status"], dana["discount"]) == ("Accepted", {"percent": "20"})
    assert dana["payer"]["kind"] == "financial_owner"  # type: ignore[index]
    sam_at_depot = await decide_json(cli_env, "ACME-DEPOT-1", "DEMO0003")
    assert sam_at_depot["reason"] == "not_in_scope"
    sam_on_street = await decide_json(cli_env, "CITY-STREET-7", "DEMO0003")
    assert (sam_on_street["reason"], sam_on_street["payer"]["kind"]) == (  # type: ignore[index]
        "accepted_public",
        "driver",
    )


def test_serve_refuses_several_workers_on_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite is one process (N1): more than one worker is refused before anything starts."""
    from chargegroups.config import get_settings

    monkeypatch.setenv("CHARGEGROUPS_DATABASE_URL", "sqlite+aiosqlite:///never-created.sqlite3")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["serve", "--workers", "2"])
    finally:
        get_settings.cache_clear()

    assert result.exit_code == 2
    assert "--workers above 1 needs PostgreSQL" in result.output


async def test_operator_create_reads_the_admin_password_from_standard_input(
    cli_env, uow, engine
) -> None:
    args = ["operator", "create", "--slug", "piped", "--name", "Piped"]
    args += ["--admin-email", "boss@piped.example"]
    result = await asyncio.to_thread(cli_env.invoke, app, args, input="from-stdin-pw\n")
    assert result.exit_code == 0, result.output
    assert "from-stdin-pw" not in result.output
    async with uow() as s:
        admin = (
            await s.execute(select(User).where(User.email_normalized == "boss@piped.example"))
        ).scalar_one()
    assert verify_password("from-stdin-pw", admin.password_hash)


async def test_operator_create_without_a_password_anywhere_exits_2(cli_env, engine) -> None:
    args = ["operator", "create", "--slug", "nopw", "--name", "No", "--admin-email", "a@b.example"]
    result = await asyncio.to_thread(cli_env.invoke, app, args, input="")
    assert result.exit_code == 2
    assert "no password" in result.output


async def _invoke(cli_env, args: list[str], stdin: str = ""):
    return await asyncio.to_thread(cli_env.invoke, app, args, input=stdin)


async def test_user_add_admin_creates_an_operator_admin_with_a_password_from_stdin(
    cli_env, uow, engine, client
) -> None:
    async with uow() as s:
        world = await make_operator(s)
    args = ["user", "add-admin", "--operator", world.operator.slug, "--email", "second@ops.example"]
    result = await _invoke(cli_env, args, "second-admin-pw\n")
    assert result.exit_code == 0, result.output
    async with uow() as s:
        grants = (
            await s.execute(select(Grant).where(Grant.user_id == result.output.strip()))
        ).all()
    assert len(grants) == 1 and grants[0][0].role == "operator_admin"
    signed_in = await login(client, world.operator.slug, "second@ops.example", "second-admin-pw")
    assert signed_in.status_code == 200

    again = await _invoke(cli_env, args)
    assert again.exit_code == 2 and "already_admin" in again.output


async def test_user_add_admin_promotes_an_existing_user_without_asking_a_password(
    cli_env, uow, engine
) -> None:
    async with uow() as s:
        world = await make_operator(s)
        driver = await make_user(s, world.operator, world.default_account)
    args = ["user", "add-admin", "--operator", world.operator.slug, "--email", driver.email]
    result = await _invoke(cli_env, args)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == driver.id


async def test_user_set_password_replaces_it_and_ends_sign_ins(
    cli_env, uow, engine, client
) -> None:
    async with uow() as s:
        world = await make_operator(s)
        elsewhere = await make_operator(s)
        headers = await bearer(s, world.admin)
    args = ["user", "set-password", "--operator", world.operator.slug, "--email", world.admin.email]
    result = await _invoke(cli_env, args, "a-brand-new-pw\n")
    assert result.exit_code == 0, result.output
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 401
    assert (
        await login(client, world.operator.slug, world.admin.email, PASSWORD)
    ).status_code == 401
    fresh = await login(client, world.operator.slug, world.admin.email, "a-brand-new-pw")
    assert fresh.status_code == 200
    # Another operator has no user with this email: nothing is changed there.
    wrong = ["user", "set-password", "--operator", elsewhere.operator.slug]
    wrong += ["--email", world.admin.email]
    missing = await _invoke(cli_env, wrong, "a-brand-new-pw\n")
    assert missing.exit_code == 2 and "not_found" in missing.output
    short = await _invoke(cli_env, args, "short\n")
    assert short.exit_code == 2 and "weak_password" in short.output
