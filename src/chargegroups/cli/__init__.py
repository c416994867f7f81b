"""The `chargegroups` command: the same services as the API, through unit_of_work()."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
import uvicorn
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups import migrate
from chargegroups.config import get_settings
from chargegroups.database import create_engine, create_sessionmaker, unit_of_work
from chargegroups.errors import ChargeGroupsError
from chargegroups.operator import service as operator_service

if TYPE_CHECKING:
    from fastapi import FastAPI

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
    run_server(create_app(settings), host=host, port=port, log_level="info")


# Young-generation collections every GC_THRESHOLD[0] net allocations instead of 700; see
# run_server.
GC_THRESHOLD = (5_000, 10, 100)


def run_server(app: FastAPI, *, host: str, port: int, log_level: str, **options: Any) -> None:
    """uvicorn as ``serve`` runs it (the OCPP benchmark runs it the same way).

    No permessage-deflate: OCPP frames are small, and each compressed WebSocket keeps hundreds of
    KiB of zlib state. Garbage collection: the start-up's few hundred thousand objects (routes,
    schemas, mappers) live for good, so they are frozen out of every collection, and collections
    are rarer — thousands of chargers' connections are long-lived objects that full collections
    would otherwise walk again and again, in pauses of hundreds of milliseconds
    (docs/benchmarks.md, "OCPP").
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)
    uvicorn.run(
        app, host=host, port=port, log_level=log_level, ws_per_message_deflate=False, **options
    )


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


@app.command("simulate-charger")
def simulate_charger(
    url: Annotated[
        str, typer.Option(help="The server's OCPP endpoint, e.g. ws://127.0.0.1:8000/ocpp")
    ],
    charger: Annotated[str, typer.Option(help="The charger's charge_point_id.")],
    password: Annotated[str, typer.Option(help="The charger's OCPP password.")],
    token: Annotated[str, typer.Option(help="The driver token uid to present.")],
    kwh: Annotated[float, typer.Option(min=0, max=1000, help="Energy to charge.")] = 10.0,
    ocpp: Annotated[str, typer.Option(help="Protocol version: 1.6 or 2.0.1.")] = "1.6",
) -> None:
    """Boot, authorize, run a transaction as a charge point and print the server's answers."""
    import json

    import websockets

    from chargegroups.ocpp.simulator import VERSIONS, simulate

    if ocpp not in VERSIONS:
        typer.echo(f"error: --ocpp must be one of {', '.join(VERSIONS)}", err=True)
        raise typer.Exit(code=2)
    try:
        answers = asyncio.run(simulate(url, charger, password, token, kwh=kwh, version=ocpp))
    except (OSError, websockets.InvalidHandshake) as exc:
        typer.echo(f"error: could not connect to {url}: {exc}", err=True)
        raise typer.Exit(code=1) from None
    for action, answer in answers:
        typer.echo(f"{action}: {json.dumps(answer, default=str)}")


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
