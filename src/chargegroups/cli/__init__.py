"""The `chargegroups` command: the same services as the API, through unit_of_work()."""

from __future__ import annotations

import asyncio
import gc
import logging.config
import socket
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
import uvicorn
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups import migrate
from chargegroups.cli import workers as workers_module
from chargegroups.config import Settings, UnsafeSettings, check_secret_key, get_settings
from chargegroups.database import create_engine, create_sessionmaker, is_sqlite, unit_of_work
from chargegroups.errors import ChargeGroupsError
from chargegroups.kit.logs import logging_config
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
user_app = typer.Typer(help="Users: operator admins, forgotten passwords.", no_args_is_help=True)
app.add_typer(user_app, name="user")


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
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Processes sharing the port (PostgreSQL only).")
    ] = 1,
    proxy_headers: Annotated[
        bool,
        typer.Option(
            help="Take the client's address and scheme from X-Forwarded-For/-Proto when the "
            "peer is in --forwarded-allow-ips (behind a TLS-terminating proxy)."
        ),
    ] = True,
    forwarded_allow_ips: Annotated[
        str,
        typer.Option(
            help="Comma-separated addresses or networks of the proxies whose forwarded headers "
            "are trusted; '*' trusts any peer (only where nothing but the proxy reaches the port)."
        ),
    ] = "127.0.0.1",
) -> None:
    """Run API, console, OCPP and SCIM (migrates the database first); SIGTERM drains: chargers
    are closed with 1001 to reconnect elsewhere, in-flight work finishes, then it exits."""
    settings = get_settings()
    if workers > 1 and is_sqlite(settings.database_url):
        typer.echo(
            "error: --workers above 1 needs PostgreSQL (CHARGEGROUPS_DATABASE_URL): SQLite is "
            "one process",
            err=True,
        )
        raise typer.Exit(code=2)
    options: dict[str, Any] = {
        "log_level": settings.log_level.lower(),
        "log_config": logging_config(settings.log_format, settings.log_level),
        "proxy_headers": proxy_headers,
        "forwarded_allow_ips": forwarded_allow_ips,
    }
    logging.config.dictConfig(options["log_config"])  # for what is said before uvicorn runs
    try:
        check_secret_key(settings)
    except UnsafeSettings as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(2) from None
    migrate.upgrade(settings.database_url)
    typer.echo(f"chargegroups on http://{host}:{port}  (console /console, API docs /api/docs)")
    if workers == 1:
        from chargegroups.app import create_app

        run_server(create_app(settings), host=host, port=port, **options)
    else:
        workers_module.supervise(
            workers, host=host, port=port, node_id=settings.node_id, options=options
        )


# Young-generation collections every GC_THRESHOLD[0] net allocations instead of 700; see
# run_server.
GC_THRESHOLD = (5_000, 10, 100)


def run_server(
    app: FastAPI, *, host: str, port: int, log_level: str, reuse_port: bool = False, **options: Any
) -> None:
    """uvicorn as ``serve`` runs it (the OCPP benchmark runs it the same way).

    No permessage-deflate: OCPP frames are small, and each compressed WebSocket keeps hundreds of
    KiB of zlib state. Garbage collection: the start-up's few hundred thousand objects (routes,
    schemas, mappers) live for good, so they are frozen out of every collection, and collections
    are rarer — thousands of chargers' connections are long-lived objects that full collections
    would otherwise walk again and again, in pauses of hundreds of milliseconds
    (docs/benchmarks.md, "OCPP"). ``reuse_port``: a socket of its own with SO_REUSEPORT, so
    that several worker processes share the port and the kernel spreads connections evenly.
    """
    from chargegroups.ocpp import edge as ocpp_edge

    settings: Settings = app.state.settings
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        ws_per_message_deflate=False,
        timeout_graceful_shutdown=int(settings.drain_seconds),
        **options,
    )
    server = DrainingServer(
        config, drain=lambda: ocpp_edge.drain(app, seconds=settings.drain_seconds / 2)
    )
    server.run(sockets=[_reusable_socket(host, port)] if reuse_port else None)


class DrainingServer(uvicorn.Server):
    """uvicorn, which on SIGTERM first stops accepting, then ``drain``s (chargers are closed
    with 1001, going away, so they reconnect to another node), then lets in-flight requests
    finish (at most ``timeout_graceful_shutdown``) and shuts the application down."""

    def __init__(self, config: uvicorn.Config, *, drain: Callable[[], Awaitable[None]]) -> None:
        super().__init__(config)
        self._drain = drain

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        await self._drain()
        await super().shutdown(sockets)


def _reusable_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def read_password(prompt: str) -> str:
    """A password typed at a hidden prompt (twice), or the first line of standard input."""
    if sys.stdin.isatty():
        return str(typer.prompt(prompt, hide_input=True, confirmation_prompt=True))
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        typer.echo("error: no password on standard input", err=True)
        raise typer.Exit(code=2)
    return password


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
    admin_password: Annotated[
        str | None,
        typer.Option(
            help="Password of the first operator admin. Better left out: it is then asked for "
            "(hidden), or read from the first line of standard input when that is not a terminal "
            "— a command line is seen by every user of the machine and kept in shell history."
        ),
    ] = None,
) -> None:
    """Create an operator, its default account and its first operator admin."""
    admin_password = admin_password or read_password("Password of the first operator admin")
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


OperatorSlug = Annotated[str, typer.Option("--operator", help="The operator's slug.")]
UserEmail = Annotated[str, typer.Option("--email", help="The user's email.")]


@user_app.command("add-admin")
def user_add_admin(
    operator: OperatorSlug,
    email: UserEmail,
    name: Annotated[str, typer.Option(help="Name of a new user.")] = "Operator admin",
) -> None:
    """Make the operator's user with this email an operator admin; with no such user, create one
    in the default account (its password asked for, or read from standard input)."""
    settings = get_settings()
    migrate.upgrade(settings.database_url)

    async def work(session: AsyncSession) -> str:
        exists = await operator_service.user_exists(session, operator_slug=operator, email=email)
        password = None if exists else read_password(f"Password of {email}")
        user = await operator_service.add_operator_admin(
            session, operator_slug=operator, email=email, name=name, password=password
        )
        return user.id

    typer.echo(run_service(work))


@user_app.command("set-password")
def user_set_password(operator: OperatorSlug, email: UserEmail) -> None:
    """Set a user's password (asked for, or read from standard input); the user's sign-ins end."""
    settings = get_settings()
    migrate.upgrade(settings.database_url)
    password = read_password(f"New password of {email}")
    run_service(
        lambda session: operator_service.reset_password(
            session, operator_slug=operator, email=email, password=password
        )
    )
    typer.echo(f"password of {email} set")


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
    file: Annotated[
        typer.FileBinaryRead, typer.Argument(help="CSV (UTF-8): email,name[,token_uid,valid_until]")
    ],
    operator: Annotated[str, typer.Option(help="Slug of the operator.")],
    account: Annotated[str, typer.Option(help="Id or name of the account to import into.")],
) -> None:
    """Import an account's members from CSV: all rows or none; a re-run changes nothing."""
    from chargegroups.onboarding.cli import import_members_command

    migrate.upgrade(get_settings().database_url)
    raw = file.read()
    typer.echo(run_service(lambda session: import_members_command(session, operator, account, raw)))


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
