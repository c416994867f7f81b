"""The `chargegroups` command: the same services as the API, through unit_of_work()."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
import uvicorn
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups import migrate
from chargegroups.config import get_settings
from chargegroups.database import create_engine, create_sessionmaker, unit_of_work
from chargegroups.errors import ChargeGroupsError
from chargegroups.operator import service as operator_service

T = TypeVar("T")

app = typer.Typer(
    help="chargegroups: who may charge where, at what price, and who pays.", no_args_is_help=True
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
operator_app = typer.Typer(help="Operators (tenants).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(operator_app, name="operator")


def run_service(work: Callable[..., Awaitable[T]]) -> T:
    """Run one unit of work against the configured database; errors become exit codes."""

    async def main() -> T:
        engine = create_engine(get_settings().database_url)
        try:
            async with unit_of_work(create_sessionmaker(engine)) as session:
                return await work(session)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except ChargeGroupsError as exc:
        typer.echo(f"error: {exc.detail} ({exc.code})", err=True)
        raise typer.Exit(code=2) from None


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
) -> None:
    """Run API, console, OCPP and SCIM in one process (migrates the database first)."""
    from chargegroups.app import create_app

    settings = get_settings()
    migrate.upgrade(settings.database_url)
    typer.echo(f"chargegroups on http://{host}:{port}  (console /console, API docs /api/docs)")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations."""
    migrate.upgrade(get_settings().database_url)
    typer.echo("database is up to date")


@operator_app.command("create")
def operator_create(
    slug: Annotated[str, typer.Option(help="Short name used at login, e.g. 'acme-charging'.")],
    name: Annotated[str, typer.Option(help="Display name.")],
    admin_email: Annotated[str, typer.Option(help="Email of the first operator admin.")],
    admin_password: Annotated[str, typer.Option(help="Password of the first operator admin.")],
) -> None:
    """Create an operator, its default account and its first operator admin."""
    settings = get_settings()
    migrate.upgrade(settings.database_url)
    created = run_service(
        lambda session: operator_service.create_operator(
            session,
            slug=slug,
            name=name,
            admin_email=admin_email,
            admin_password=admin_password,
            auth_cache_ttl_seconds=settings.auth_cache_ttl_seconds,
        )
    )
    typer.echo(created.operator.id)


@app.command()
def demo(
    operator: Annotated[str, typer.Option(help="Slug of the demo operator.")] = "demo",
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing when any operator exists.")
    ] = False,
) -> None:
    """Load a small, realistic demo network and print how to log in."""
    from chargegroups.demo import load_demo

    settings = get_settings()
    migrate.upgrade(settings.database_url)
    summary = run_service(lambda session: load_demo(session, slug=operator, if_empty=if_empty))
    typer.echo(summary)


@app.command()
def decide(
    operator: Annotated[str, typer.Option(help="Slug of the operator.")],
    charger: Annotated[str, typer.Option(help="The charger's charge_point_id.")],
    token: Annotated[str, typer.Option(help="The token uid presented.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON.")] = False,
) -> None:
    """Print the decision for a token at a charger now, with its trace (D9)."""
    from chargegroups.decision import service as decision_service
    from chargegroups.decision.schemas import DecisionOut
    from chargegroups.kit.clock import utcnow

    async def work(session: AsyncSession) -> DecisionOut:
        found = await operator_service.get_by_slug(session, operator)
        at_charger = await decision_service.find_charger(session, found.id, charge_point_id=charger)
        decision = await decision_service.decide_for_token(
            session, charger=at_charger, token_uid=token, at=utcnow()
        )
        return DecisionOut.build(decision)

    out = run_service(work)
    if as_json:
        typer.echo(out.model_dump_json(indent=2))
        return
    typer.echo(
        f"{out.status} ({out.reason}); OCPP 1.6 {out.ocpp16_status}, 2.0.1 {out.ocpp201_status}"
    )
    typer.echo(f"charger {charger}, token {token}, user {out.user_id or '-'}")
    for entry in out.trace:
        roles = f" [{', '.join(entry.roles)}]" if entry.roles else ""
        typer.echo(f"  group {entry.group_name} ({entry.group_id}): {entry.why}{roles}")
    for line in out.explanation:
        typer.echo(line)


import_app = typer.Typer(help="Bulk imports from CSV files.", no_args_is_help=True)
app.add_typer(import_app, name="import")


@import_app.command("members")
def import_members(
    file: Annotated[typer.FileText, typer.Argument(help="CSV: email,name[,token_uid,valid_until]")],
    operator: Annotated[str, typer.Option(help="Slug of the operator.")],
    account: Annotated[str, typer.Option(help="Id or name of the account to import into.")],
) -> None:
    """Import an account's members from CSV: all rows or none; a re-run changes nothing."""
    from chargegroups.onboarding.cli import import_members_command

    migrate.upgrade(get_settings().database_url)
    text = file.read()
    typer.echo(
        run_service(lambda session: import_members_command(session, operator, account, text))
    )
