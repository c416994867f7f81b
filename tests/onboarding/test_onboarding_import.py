from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from chargegroups.cli import app
from chargegroups.models import DriverToken
from tests.fixtures.factories import (
    bearer,
    make_account,
    make_driver_token,
    make_operator,
    make_user,
)
from tests.onboarding.helpers import make_group, memberships_of, snapshot, user_by_email

GOOD = (
    "email,name,token_uid,valid_until\n"
    "ana@acme.example,Ana,04A1B2C3,2027-12-31T23:59:59Z\n"
    "bo@acme.example,Bo,,\n"
)


async def post_csv(client, account, headers, text):
    return await client.post(
        f"/api/v1/accounts/{account.id}/members/import",
        content=text.encode(),
        headers={**headers, "content-type": "text/csv"},
    )


async def acme_world(uow, *, auto: bool = True):
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator, name="Acme")
        group = await make_group(
            s, acme, operator_id=world.operator.id, name="Vans", auto_assign=auto
        )
        headers = await bearer(s, world.admin)
    return world, acme, group, headers


@pytest.mark.parametrize("auto", [True, False])
async def test_import_creates_password_less_members_auto_assigned(uow, client, auto: bool) -> None:
    _, acme, group, headers = await acme_world(uow, auto=auto)
    response = await post_csv(client, acme, headers, GOOD)
    assert response.status_code == 200, response.text
    assert (response.json()["created"], response.json()["unchanged"]) == (2, 0)
    async with uow() as s:
        ana = await user_by_email(s, "ana@acme.example")
        token = (await s.execute(select(DriverToken))).scalar_one()
        assert ana.account_id == acme.id and ana.password_hash is None
        assert await memberships_of(s, ana.id) == ([(group.id, "import")] if auto else [])
    assert (token.user_id, token.uid, token.expires_at.year) == (ana.id, "04A1B2C3", 2027)


async def test_re_importing_the_same_file_changes_nothing(uow, client) -> None:
    _, acme, _, headers = await acme_world(uow)
    await post_csv(client, acme, headers, GOOD)
    async with uow() as s:
        before = await snapshot(s)
    again = await post_csv(client, acme, headers, GOOD)
    assert again.status_code == 200
    assert (again.json()["created"], again.json()["unchanged"]) == (0, 2)
    assert {r["status"] for r in again.json()["rows"]} == {"unchanged"}
    async with uow() as s:
        assert await snapshot(s) == before


async def test_a_file_with_bad_rows_imports_nothing_and_reports_every_bad_line(uow, client) -> None:
    world, acme, _, headers = await acme_world(uow)
    async with uow() as s:
        globex = await make_account(s, world.operator)
        elsewhere = await make_user(s, world.operator, globex, email="taken@globex.example")
        await make_driver_token(s, elsewhere, uid="CARD-1")
        before = await snapshot(s)
    text = (
        "email,name,token_uid,valid_until\n"
        "ok@acme.example,Ok,,\n"  # 2: fine
        "not-an-address,Bad,,\n"  # 3
        "ok@ACME.example,Twice,,\n"  # 4: duplicate of line 2
        "taken@globex.example,Taken,,\n"  # 5: another account's user
        "new@acme.example,New,card-1,\n"  # 6: token uid used by another user
        "late@acme.example,Late,C9,tomorrow\n"  # 7: bad time
        "anon@acme.example,,,\n"  # 8: no name
    )
    response = await post_csv(client, acme, headers, text)
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "import_invalid"
    assert [(e["line"], e["field"]) for e in problem["errors"]] == [
        (3, "email"),
        (4, "email"),
        (5, "email"),
        (6, "token_uid"),
        (7, "valid_until"),
        (8, "name"),
    ]
    async with uow() as s:
        assert await snapshot(s) == before
        assert await user_by_email(s, "ok@acme.example") is None


async def test_a_file_without_the_required_columns_is_refused(uow, client) -> None:
    _, acme, _, headers = await acme_world(uow)
    response = await post_csv(client, acme, headers, "mail,full name\na@b.example,A\n")
    assert response.status_code == 422
    assert {e["line"] for e in response.json()["errors"]} == {1}


async def test_import_accepts_a_multipart_upload(uow, client) -> None:
    _, acme, _, headers = await acme_world(uow)
    response = await client.post(
        f"/api/v1/accounts/{acme.id}/members/import",
        files={"file": ("members.csv", GOOD.encode(), "text/csv")},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 2


async def test_an_account_admin_imports_into_its_own_account(uow, client) -> None:
    async with uow() as s:
        world = await make_operator(s)
        acme = await make_account(s, world.operator)
        headers = await bearer(s, await make_user(s, world.operator, acme, admin_of=(acme,)))
    response = await post_csv(client, acme, headers, GOOD)
    assert response.status_code == 200


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, settings):
    from chargegroups.config import get_settings

    monkeypatch.setenv("CHARGEGROUPS_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


async def test_the_cli_imports_members_by_account_name(cli_env, uow, tmp_path: Path) -> None:
    world, _, group, _ = await acme_world(uow)
    path = tmp_path / "members.csv"
    path.write_text(GOOD)
    args = ["import", "members", str(path), "--operator", world.operator.slug, "--account", "ACME"]
    result = await asyncio.to_thread(cli_env.invoke, app, args)
    assert result.exit_code == 0, result.output
    assert "2 created, 0 unchanged" in result.output
    async with uow() as s:
        bo = await user_by_email(s, "bo@acme.example")
        assert await memberships_of(s, bo.id) == [(group.id, "import")]


async def test_the_cli_lists_every_bad_line_and_exits_2(cli_env, uow, tmp_path: Path) -> None:
    world, acme, _, _ = await acme_world(uow)
    path = tmp_path / "members.csv"
    path.write_text("email,name\nnope,A\nb@acme.example,\n")
    args = ["import", "members", str(path), "--operator", world.operator.slug, "--account", acme.id]
    result = await asyncio.to_thread(cli_env.invoke, app, args)
    assert result.exit_code == 2
    assert "line 2: email" in result.output and "line 3: name" in result.output
    async with uow() as s:
        assert await user_by_email(s, "b@acme.example") is None


async def test_a_nul_or_control_character_in_a_name_is_a_row_error(uow, client) -> None:
    """SQLite would store a NUL that PostgreSQL refuses: one rule refuses it on both."""
    world, acme, _, _ = await acme_world(uow)
    async with uow() as s:
        headers = await bearer(s, world.admin)
    response = await client.post(
        f"/api/v1/accounts/{acme.id}/members/import",
        content="email,name,token_uid\na@acme.example,A\x00B,\nb@acme.example,B,UID\x07\n",
        headers={**headers, "Content-Type": "text/csv"},
    )
    assert response.status_code == 422, response.text
    errors = [(e["line"], e["field"]) for e in response.json()["errors"]]
    assert errors == [(2, "name"), (3, "token_uid")]
    async with uow() as s:
        assert await user_by_email(s, "a@acme.example") is None


async def test_the_cli_reports_a_file_that_is_not_utf8(cli_env, uow, tmp_path: Path) -> None:
    world, acme, _, _ = await acme_world(uow)
    path = tmp_path / "members.csv"
    path.write_bytes(b"email,name\na@acme.example,\xff\xfe\n")
    args = ["import", "members", str(path), "--operator", world.operator.slug, "--account", acme.id]
    result = await asyncio.to_thread(cli_env.invoke, app, args)
    assert result.exit_code == 2
    assert "not UTF-8" in result.output and "Traceback" not in result.output
