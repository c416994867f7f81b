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

from chargegroups.charger import connections, revocation
from chargegroups.database import unit_of_work
from chargegroups.errors import RateLimited
from chargegroups.kit import metrics
from chargegroups.kit.clock import utcnow
from chargegroups.models import Charger
from chargegroups.ocpp import presence, schemas
from chargegroups.ocpp.commands import ChargerCommands
from chargegroups.ocpp.credentials import ChargerCredentials, basic_credentials
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


def install(app: FastAPI, node_id: str) -> None:
    """The endpoint's per-application state (connections, chargers' credentials); the endpoint
    itself is the ``OcppRoute`` middleware."""
    # Validate OCPP payloads inline: they are small, and a thread-pool hop per message (the
    # library's default) costs more than the validation itself and adds latency under load.
    ocpp.messages.ASYNC_VALIDATION = False
    fast_schema_validation()
    app.state.ocpp_registry = Registry()
    app.state.ocpp_credentials = ChargerCredentials()
    app.state.node_id = node_id
    app.state.charger_commands = ChargerCommands(
        app.state.ocpp_registry, app.state.sessionmaker, node_id
    )


def fast_schema_validation() -> None:
    """The compiled fast path (``ocpp.schemas``) for every message each version exchanges: what
    its chargers send us, and ClearCache, which we send them (the remote operations' calls are
    rare: the library's own validators serve them)."""
    for charge_point_class in PROTOCOLS.values():
        version = charge_point_class.ocpp_version
        actions = schemas.actions_of(charge_point_class) | {"ClearCache"}
        schemas.install(version, actions)


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[None]:
    """While the application runs: this node holds a lease and writes the connections it
    accepts and closes; revocations send ClearCache to the chargers concerned here and newer
    connections elsewhere close theirs here (news from every node); connected chargers' last
    contact is written every few seconds."""
    registry: Registry = app.state.ocpp_registry
    sessionmaker: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    node_id: str = app.state.node_id
    loop = asyncio.get_running_loop()
    async with unit_of_work(sessionmaker) as session:  # rows of an earlier life of this node
        await connections.leave(session, node_id)
        await connections.renew_lease(session, node_id, utcnow())
    stop_listening = (
        revocation.add_listener(registry.listener(loop)),
        connections.add_listener(registry.takeover_listener(loop)),
    )
    tasks = [
        asyncio.create_task(_stamp_every(registry, sessionmaker, STAMP_SECONDS)),
        asyncio.create_task(_write_connections(registry, sessionmaker, node_id)),
        asyncio.create_task(_renew_lease_every(sessionmaker, node_id)),
    ]
    try:
        yield
    finally:
        for stop in stop_listening:
            stop()
        for task in tasks:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        await _write_changes(registry, sessionmaker, node_id)
        await _stamp(sessionmaker, registry.unstamped(timedelta(0)))
        async with unit_of_work(sessionmaker) as session:
            await connections.leave(session, node_id)


async def drain(app: FastAPI, *, seconds: float) -> None:
    """Close every charger's connection with 1001 (going away), so it reconnects to another
    node, and wait (at most ``seconds``) until their last messages are handled and written."""
    registry: Registry = app.state.ocpp_registry
    await registry.close_all(1001, "node shutting down")
    if registry.links:
        with suppress(TimeoutError):
            await asyncio.wait_for(registry.emptied.wait(), seconds)


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


async def _renew_lease_every(sessionmaker: async_sessionmaker[AsyncSession], node_id: str) -> None:
    while True:
        await asyncio.sleep(connections.LEASE_RENEW_SECONDS)
        try:
            async with unit_of_work(sessionmaker) as session:
                await connections.renew_lease(session, node_id, utcnow())
        except Exception:  # a busy database must not stop the renewals for good
            log.warning("renewing this node's lease failed", exc_info=True)


async def _write_connections(
    registry: Registry, sessionmaker: async_sessionmaker[AsyncSession], node_id: str
) -> None:
    """Connections opened and closed, written as they happen — but when a thousand chargers
    connect or drop at once, in a few batches, not a thousand transactions."""
    while True:
        await registry.changed.wait()
        try:
            await _write_changes(registry, sessionmaker, node_id)
        except Exception:  # a busy database must not stop the writing for good
            log.warning("writing chargers' connections failed", exc_info=True)


async def _write_changes(
    registry: Registry, sessionmaker: async_sessionmaker[AsyncSession], node_id: str
) -> None:
    opening, leaving = registry.take_changes()
    try:
        # Opened first: a connection opened and closed since the last write leaves no row.
        for start in range(0, len(opening), STAMP_BATCH):
            batch = opening[start : start + STAMP_BATCH]
            try:
                async with unit_of_work(sessionmaker) as session:
                    await connections.record(
                        session, node_id, [link.opened() for link in batch], []
                    )
            finally:  # written, or given up on: the handshakes go on either way
                for link in batch:
                    link.written.set()
        for start in range(0, len(leaving), STAMP_BATCH):
            async with unit_of_work(sessionmaker) as session:
                batch = leaving[start : start + STAMP_BATCH]
                closed = [(link.charger_id, link.connection_id) for link in batch]
                await connections.record(session, node_id, [], closed)
                await presence.mark_seen(session, [link.stamp() for link in batch])
    finally:
        for link in leaving:
            registry.detach(link)


async def _refuse(websocket: WebSocket, status: int) -> None:
    """Refuse at the handshake: a plain HTTP answer where the server allows it, else a close."""
    metrics.OCPP_HANDSHAKE_FAILURES.labels(str(status)).inc()
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

    async def close(code: int, reason: str) -> None:
        # Also called for a connection already gone whose last contact is not yet written.
        if websocket.client_state == websocket.application_state == WebSocketState.CONNECTED:
            with suppress(RuntimeError, WebSocketDisconnect):
                await websocket.close(code=code, reason=reason)

    link = Link(
        charger_id=charger.id,
        operator_id=charger.operator_id,
        charge_point_id=charge_point_id,
        ocpp_version=cls.ocpp_version,
        connected_at=now,
        last_seen_at=now,
        close=close,
        clear_cache=charge_point.clear_cache,
        call=charge_point.send_call,
    )
    connected = metrics.OCPP_CONNECTIONS.labels(cls.ocpp_version)
    connected.inc()
    try:
        # Written as this node's (and older connections elsewhere told to close) before the
        # charger can say a word: from then on it is online on every node.
        await registry.attach(link)
        await websocket.accept(subprotocol=subprotocol)
        await charge_point.start()
    except (Disconnected, WebSocketDisconnect, RuntimeError):  # gone, or replaced and closed
        pass
    finally:
        connected.dec()
        registry.leave(link)
