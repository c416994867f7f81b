"""The OCPP WebSocket endpoint ``/ocpp/{charge_point_id}`` inside the application (C4, D8)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import datetime, timedelta

import ocpp.messages
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.datastructures import State
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from chargegroups.charger import revocation
from chargegroups.database import unit_of_work
from chargegroups.errors import RateLimited
from chargegroups.kit.after_commit import watch_rows
from chargegroups.kit.clock import utcnow
from chargegroups.models import Charger
from chargegroups.ocpp import presence, schemas
from chargegroups.ocpp.credentials import (
    CREDENTIAL_COLUMNS,
    ChargerCredentials,
    basic_credentials,
)
from chargegroups.ocpp.protocol import CentralSystemChargePoint, Disconnected, StarletteConnection
from chargegroups.ocpp.registry import Link, Registry
from chargegroups.ocpp.v16 import ChargePoint16
from chargegroups.ocpp.v201 import ChargePoint201

log = logging.getLogger(__name__)

# Subprotocol -> the charge point class speaking it.
PROTOCOLS: dict[str, type[CentralSystemChargePoint]] = {
    "ocpp2.0.1": ChargePoint201,
    "ocpp1.6": ChargePoint16,
}

# Last contact is written every STAMP_SECONDS for chargers whose stored value is more than
# STAMP_RESOLUTION old (online state itself is served from memory), STAMP_BATCH rows a statement.
STAMP_SECONDS = 30.0
STAMP_RESOLUTION = timedelta(seconds=60)
STAMP_BATCH = 200
PATH_PREFIX = "/ocpp/"
CHARGE_POINT_ID_MAX = 48  # Charger.charge_point_id's column


def install(app: FastAPI) -> None:
    """The endpoint's per-application state (connections, chargers' credentials); the endpoint
    itself is the ``OcppRoute`` middleware."""
    # Validate OCPP payloads inline: they are small, and a thread-pool hop per message (the
    # library's default) costs more than the validation itself and adds latency under load.
    ocpp.messages.ASYNC_VALIDATION = False
    fast_schema_validation()
    app.state.ocpp_registry = Registry()
    app.state.ocpp_credentials = ChargerCredentials()


def fast_schema_validation() -> None:
    """The compiled fast path (``ocpp.schemas``) for every message each version exchanges: what
    its chargers send us, and ClearCache, which we send them."""
    for charge_point_class in PROTOCOLS.values():
        actions = schemas.actions_of(charge_point_class) | {"ClearCache"}
        schemas.install(charge_point_class.ocpp_version, actions)


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[None]:
    """While the application runs, revocations send ClearCache to the chargers concerned, changed
    chargers are dropped from the credentials in memory, and connected chargers' last contact is
    written to the database every few seconds."""
    registry: Registry = app.state.ocpp_registry
    credentials: ChargerCredentials = app.state.ocpp_credentials
    sessionmaker: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    remove = revocation.add_listener(registry.listener(asyncio.get_running_loop()))
    stop_forgetting = watch_rows((Charger,), credentials.forget, columns=CREDENTIAL_COLUMNS)
    stamper = asyncio.create_task(_stamp_every(registry, sessionmaker, STAMP_SECONDS))
    farewells = asyncio.create_task(_stamp_leaving(registry, sessionmaker))
    try:
        yield
    finally:
        remove()
        stop_forgetting()
        for task in (stamper, farewells):
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        await _stamp_and_detach(registry, sessionmaker, registry.take_leaving())
        await _stamp(sessionmaker, registry.unstamped(timedelta(0)))


async def _stamp(
    sessionmaker: async_sessionmaker[AsyncSession], seen: list[tuple[str, datetime, str]]
) -> None:
    """Write in small batches, each its own short transaction: the event loop keeps answering
    chargers in between, and no write lock is held for long."""
    for start in range(0, len(seen), STAMP_BATCH):
        async with unit_of_work(sessionmaker) as session:
            await presence.mark_seen(session, seen[start : start + STAMP_BATCH])


async def _stamp_every(
    registry: Registry, sessionmaker: async_sessionmaker[AsyncSession], seconds: float
) -> None:
    """Last contact is kept in memory per message and written in batches: a Heartbeat or a
    handshake storm never becomes a storm of single-row writes."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await _stamp(sessionmaker, registry.unstamped(STAMP_RESOLUTION))
        except Exception:  # a busy database must not stop the stamping for good
            log.warning("writing chargers' last contact failed", exc_info=True)


async def _stamp_leaving(
    registry: Registry, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """Closed connections' last contact, written as soon as they close — but when a thousand
    chargers drop at once (a network outage), in a few batches, not a thousand transactions."""
    while True:
        await registry.left.wait()
        try:
            await _stamp_and_detach(registry, sessionmaker, registry.take_leaving())
        except Exception:  # a busy database must not stop the stamping for good
            log.warning("writing departed chargers' last contact failed", exc_info=True)


async def _stamp_and_detach(
    registry: Registry, sessionmaker: async_sessionmaker[AsyncSession], leaving: list[Link]
) -> None:
    try:
        await _stamp(sessionmaker, [link.stamp() for link in leaving])
    finally:
        for link in leaving:
            registry.detach(link)


async def _refuse(websocket: WebSocket, status: int) -> None:
    """Refuse at the handshake: a plain HTTP answer where the server allows it, else a close."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        headers = {"WWW-Authenticate": 'Basic realm="ocpp"'} if status == 401 else None
        await websocket.send_denial_response(Response(status_code=status, headers=headers))
    else:
        await websocket.close(code=1008)


def _negotiate(offered: list[str]) -> str | None:
    """The first subprotocol the charger offers that we speak."""
    return next((p for p in offered if p in PROTOCOLS), None)


class OcppRoute:
    """ASGI middleware: ``/ocpp/{charge_point_id}`` WebSockets go straight to the endpoint.

    Past the API's routing (every route compared before a match) and its inner middleware: each
    suspended layer is held for the whole life of a charger's connection, ≈ 11 KiB per
    connection and more objects for every garbage collection to walk (docs/benchmarks.md).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            path = scope["path"].removeprefix(scope.get("root_path", ""))
            prefix, _, charge_point_id = path.partition(PATH_PREFIX)
            if not prefix and charge_point_id and "/" not in charge_point_id:
                websocket = WebSocket(scope, receive, send)
                await ocpp_endpoint(websocket, scope["app"].state, charge_point_id)
                return
        await self.app(scope, receive, send)


async def ocpp_endpoint(websocket: WebSocket, state: State, charge_point_id: str) -> None:
    subprotocol = _negotiate(list(websocket.scope.get("subprotocols") or []))
    if subprotocol is None:
        await _refuse(websocket, 400)
        return
    if len(charge_point_id) > CHARGE_POINT_ID_MAX:  # no such charger can exist
        await _refuse(websocket, 404)
        return
    credentials = basic_credentials(websocket.headers.get("authorization"))
    if credentials is None:
        await _refuse(websocket, 401)
        return
    sessionmaker: async_sessionmaker[AsyncSession] = state.sessionmaker

    async def read(charge_point_id: str) -> Charger | None:
        # A charger not in memory (ChargerCredentials): its first handshake, or a minute after
        # the last read; rare enough for the ORM.
        async with sessionmaker() as session:
            return await presence.by_charge_point_id(session, charge_point_id)

    cached: ChargerCredentials = state.ocpp_credentials
    known = await cached.find(charge_point_id, read)
    if known is None:
        await _refuse(websocket, 404)
        return
    # Verified after the read's session ended: a slow argon2 never holds a database connection.
    address = websocket.client.host if websocket.client else "unknown"
    try:
        right = credentials[0] == charge_point_id and await cached.verify(
            known, credentials[1], state.failure_limits, address
        )
    except RateLimited:
        await _refuse(websocket, 429)
        return
    if not right:
        await _refuse(websocket, 401)
        return
    charger = known.charger
    cls = PROTOCOLS[subprotocol]
    now = utcnow()

    await websocket.accept(subprotocol=subprotocol)
    registry: Registry = state.ocpp_registry

    def seen() -> None:
        link.last_seen_at = utcnow()

    charge_point = cls(
        charge_point_id,
        StarletteConnection(websocket),
        charger=charger,
        sessionmaker=sessionmaker,
        reads=state.read_pool,
        seen=seen,
    )

    async def close() -> None:
        # Also called for a connection already gone whose last contact is not yet written.
        if websocket.client_state == websocket.application_state == WebSocketState.CONNECTED:
            with suppress(RuntimeError, WebSocketDisconnect):
                await websocket.close(code=1000, reason="replaced by a new connection")

    link = Link(
        charger_id=charger.id,
        operator_id=charger.operator_id,
        charge_point_id=charge_point_id,
        ocpp_version=cls.ocpp_version,
        connected_at=now,
        last_seen_at=now,
        close=close,
        clear_cache=charge_point.clear_cache,
    )
    await registry.attach(link)
    try:
        await charge_point.start()
    except (Disconnected, WebSocketDisconnect, RuntimeError):  # gone, or replaced and closed
        pass
    finally:
        registry.leave(link)
