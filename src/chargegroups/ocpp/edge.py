"""The OCPP WebSocket endpoint ``/ocpp/{charge_point_id}`` inside the application (C4, D8)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Annotated

from fastapi import APIRouter, FastAPI, Path
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from chargegroups.charger import revocation
from chargegroups.database import unit_of_work
from chargegroups.kit.clock import utcnow
from chargegroups.ocpp import presence
from chargegroups.ocpp.credentials import VerifiedPasswords, basic_credentials
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

router = APIRouter()


def install(app: FastAPI) -> None:
    """Add the endpoint and its per-application state (connections, verified passwords)."""
    app.state.ocpp_registry = Registry()
    app.state.ocpp_passwords = VerifiedPasswords()
    app.include_router(router)


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[None]:
    """While the application runs, revocations send ClearCache to the chargers concerned."""
    registry: Registry = app.state.ocpp_registry
    remove = revocation.add_listener(registry.listener(asyncio.get_running_loop()))
    try:
        yield
    finally:
        remove()


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


@router.websocket("/ocpp/{charge_point_id}")
async def ocpp_endpoint(
    websocket: WebSocket, charge_point_id: Annotated[str, Path(max_length=48)]
) -> None:
    state = websocket.app.state
    subprotocol = _negotiate(list(websocket.scope.get("subprotocols") or []))
    if subprotocol is None:
        await _refuse(websocket, 400)
        return
    credentials = basic_credentials(websocket.headers.get("authorization"))
    if credentials is None:
        await _refuse(websocket, 401)
        return
    sessionmaker: async_sessionmaker[AsyncSession] = state.sessionmaker
    passwords: VerifiedPasswords = state.ocpp_passwords
    cls = PROTOCOLS[subprotocol]
    now = utcnow()
    async with unit_of_work(sessionmaker) as session:
        charger = await presence.by_charge_point_id(session, charge_point_id)
        if charger is None:
            status = 404
        elif credentials[0] != charge_point_id or not await passwords.verify(
            charger.id, charger.password_hash, credentials[1]
        ):
            status = 401
        else:
            status = 101
            await presence.mark_seen(session, charger.id, at=now, ocpp_version=cls.ocpp_version)
    if status != 101 or charger is None:
        await _refuse(websocket, status)
        return

    await websocket.accept(subprotocol=subprotocol)
    registry: Registry = state.ocpp_registry

    def seen() -> None:
        link.last_seen_at = utcnow()

    charge_point = cls(
        charge_point_id,
        StarletteConnection(websocket),
        charger=charger,
        sessionmaker=sessionmaker,
        seen=seen,
    )

    async def close() -> None:
        if websocket.application_state == WebSocketState.CONNECTED:
            with suppress(RuntimeError):
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
        registry.detach(link)
        async with unit_of_work(sessionmaker) as session:
            await presence.mark_seen(session, charger.id, at=link.last_seen_at)
