"""Calls the back office makes to a charger, delivered by the node that holds it (N1).

A request (an API call, later a budget's remote stop or a local list) may reach any node, but
only the node holding the charger's WebSocket can call it. :meth:`ChargerCommands.call` calls a
charger connected here directly; otherwise it looks up the holder in ``charger_connections``,
sends the call there with NOTIFY on the commands channel (addressed to that node, an id of its
own), and waits for that node's NOTIFY with the charger's answer. Nothing is stored: a call is
as short-lived as the WebSocket call it stands for, and a node that dies meanwhile leaves the
caller a clear timeout.

A charger's answer comes back as the ``ocpp`` library's result, as a dict in snake_case; a
CallError from the charger, a charger gone offline meanwhile or no answer in time become the
errors below.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chargegroups.charger import connections
from chargegroups.database import unit_of_work
from chargegroups.errors import ChargeGroupsError, Conflict, Unavailable
from chargegroups.kit.clock import utcnow
from chargegroups.kit.ids import new_id
from chargegroups.ocpp.registry import Registry

log = logging.getLogger(__name__)

CHANNEL = "chargegroups_commands"
ANSWER_SECONDS = 30.0  # as the OCPP edge waits for a charger's answer to its own calls
# NOTIFY refuses payloads of 8000 bytes or more: a call larger than this is refused here.
PAYLOAD_LIMIT = 7_900
_NOTIFY = text("SELECT pg_notify(:channel, :payload)")


class ChargerOffline(Conflict):
    code = "charger_offline"


class ChargerNoAnswer(Unavailable):
    code = "charger_no_answer"


class ChargerRefused(Conflict):
    """The charger answered the call with a CallError."""

    code = "charger_call_error"


class ChargerCommands:
    """This node's side of charger calls: making them, and serving those addressed to it."""

    def __init__(
        self, registry: Registry, sessionmaker: async_sessionmaker[AsyncSession], node_id: str
    ) -> None:
        self._registry = registry
        self._sessionmaker = sessionmaker
        self._node_id = node_id
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def ocpp_version(self, session: AsyncSession, charger_id: str) -> str:
        """The version the charger speaks now (it decides the call's shape); ChargerOffline if
        it is connected nowhere."""
        link = self._registry.links.get(charger_id)
        if link is not None and not link.closed.is_set():
            return link.ocpp_version
        connection = (await connections.online(session, [charger_id], utcnow())).get(charger_id)
        if connection is None:
            raise ChargerOffline("The charger is not connected.")
        return connection.ocpp_version

    async def call(
        self,
        session: AsyncSession,
        charger_id: str,
        action: str,
        payload: dict[str, Any],
        *,
        seconds: float = ANSWER_SECONDS,
    ) -> dict[str, Any]:
        """The charger's answer to ``action`` with ``payload`` (snake_case, as the ``ocpp``
        library's call of the charger's version takes it)."""
        link = self._registry.links.get(charger_id)
        if link is not None and not link.closed.is_set():
            return await _answer(link.call(action, payload), seconds)
        connection = (await connections.online(session, [charger_id], utcnow())).get(charger_id)
        # Held here but not in the registry: just closed (on SQLite, the only node, always so).
        if connection is None or connection.node_id == self._node_id:
            raise ChargerOffline("The charger is not connected.")
        request_id = new_id()
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = answer
        try:
            await self._send(
                {
                    "kind": "call",
                    "to": connection.node_id,
                    "from": self._node_id,
                    "id": request_id,
                    "charger_id": charger_id,
                    "action": action,
                    "payload": payload,
                    "seconds": seconds,
                }
            )
            try:
                return await asyncio.wait_for(answer, seconds + 1)
            except TimeoutError:
                raise ChargerNoAnswer(
                    f"No answer from the node holding the charger within {seconds:.0f} s."
                ) from None
        finally:
            self._waiting.pop(request_id, None)

    def deliver(self, payload: str) -> None:
        """A message on the commands channel (the listener's callback, on the event loop)."""
        try:
            message = json.loads(payload)
            if message.get("to") != self._node_id:
                return
            kind = message["kind"]
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("charger command not understood: %.200s", payload)
            return
        if kind == "call":
            task = asyncio.create_task(self._serve(message))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        elif kind == "answer":
            waiting = self._waiting.get(str(message.get("id")))
            if waiting is not None and not waiting.done():
                if "error" in message:
                    code, detail = message["error"]
                    waiting.set_exception(_error(code, detail))
                else:
                    waiting.set_result(message["payload"])

    async def _serve(self, message: dict[str, Any]) -> None:
        """Call the charger connected here and send its answer (or why not) to the asker."""
        reply: dict[str, Any] = {"kind": "answer", "to": message["from"], "id": message["id"]}
        try:
            link = self._registry.links.get(message["charger_id"])
            if link is None or link.closed.is_set():
                raise ChargerOffline("The charger is not connected.")
            call = link.call(message["action"], message["payload"])
            reply["payload"] = await _answer(call, float(message["seconds"]))
        except ChargeGroupsError as error:
            reply["error"] = [error.code, error.detail]
        except Exception as error:  # the asker gets an answer whatever went wrong here
            log.warning("charger command failed", exc_info=True)
            reply["error"] = [ChargerNoAnswer.code, f"The call failed: {error!r}"[:200]]
        try:
            await self._send(reply)
        except Exception:  # the asker times out
            log.warning("answering a charger command failed", exc_info=True)

    async def _send(self, message: dict[str, Any]) -> None:
        payload = json.dumps(message, separators=(",", ":"), default=str)
        if len(payload.encode()) > PAYLOAD_LIMIT:
            raise ChargerRefused("The call is too large to pass to another node.")
        async with unit_of_work(self._sessionmaker) as session:
            await session.execute(_NOTIFY, {"channel": CHANNEL, "payload": payload})


async def _answer(call: Any, seconds: float) -> dict[str, Any]:
    try:
        answer: dict[str, Any] = await asyncio.wait_for(call, seconds)
    except TimeoutError:
        raise ChargerNoAnswer(f"The charger did not answer within {seconds:.0f} s.") from None
    return answer


_ERRORS: dict[str, type[ChargeGroupsError]] = {
    cls.code: cls for cls in (ChargerOffline, ChargerNoAnswer, ChargerRefused)
}


def _error(code: str, detail: str) -> ChargeGroupsError:
    cls = _ERRORS.get(code)
    return cls(detail) if cls is not None else ChargerRefused(detail, code=code)
