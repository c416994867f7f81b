"""What both OCPP versions share: the WebSocket adapter, frame handling and the unit of work.

The ``ocpp`` library logs and drops frames it cannot parse and turns any exception a handler
raises into ``InternalError``. Here every bad frame gets the CallError the protocol names
(unparseable JSON: FormationViolation in 1.6, FormatViolation in 2.0.1; not a message array:
ProtocolError; an unknown message type: ProtocolError / MessageTypeNotSupported), the connection
stays up; a payload that fails the schema gets the version's code for the violation, and
handlers map domain errors to the message's own status enum (``guarded``).
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar, cast

import ocpp.v16.call
import ocpp.v201.call
from ocpp.charge_point import ChargePoint
from ocpp.exceptions import (
    FormatViolationError,
    OCPPError,
    PropertyConstraintViolationError,
    ProtocolError,
    TypeConstraintViolationError,
)
from ocpp.messages import CallError, MessageType, unpack
from ocpp.routing import on
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.websockets import WebSocket

from chargegroups.charger import service as chargers
from chargegroups.database import ReadPool, unit_of_work
from chargegroups.errors import ChargeGroupsError, InvalidInput, NotFound
from chargegroups.kit import metrics
from chargegroups.kit.clock import plausible_instant, utcnow
from chargegroups.kit.request_context import charge_point_id_var
from chargegroups.models import Charger
from chargegroups.ocpp import schemas
from chargegroups.session import service as sessions

log = logging.getLogger(__name__)
# The library logs every frame it receives and sends (tokens and all) at INFO: kept apart, and
# quiet unless asked for (kit/logs.py).
FRAME_LOG = logging.getLogger("chargegroups.ocpp.frames")
T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])
ENERGY_REGISTER = "Energy.Active.Import.Register"
MESSAGE_ID_MAX = 36  # OCPP-J caps a message id at 36 characters
_LEADING_ID = re.compile(r'\s*\[\s*\d+\s*,\s*"([^"\\]*)"')


def handles(action: str) -> Callable[[F], F]:
    """The library's ``@on(action)``, typed, with the handler's signature computed once: the
    library asks ``inspect.signature`` for it on every call, a tenth of an Authorize's CPU."""

    def decorator(handler: F) -> F:
        routed: F = on(action)(handler)
        cast(Any, routed).__signature__ = inspect.signature(handler)
        return routed

    return decorator


class Disconnected(Exception):
    """The charger closed the WebSocket; ends the receive loop."""


class StarletteConnection:
    """The ``recv``/``send`` pair the ``ocpp`` ChargePoint expects, over Starlette's WebSocket."""

    def __init__(self, websocket: WebSocket) -> None:
        self._websocket = websocket

    async def recv(self) -> str:
        message = await self._websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise Disconnected
        text: str | None = message.get("text")
        if text is None:  # OCPP-J frames are text; a binary frame is answered as malformed
            return bytes(message.get("bytes") or b"").decode("utf-8", "replace")
        return text

    async def send(self, message: str) -> None:
        await self._websocket.send_text(message)


def ocpp_time(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    """An OCPP dateTime (RFC 3339); a value without a zone is taken as UTC. A charger whose
    clock is broken (before 2000, or more than a day ahead of ours) is taken to mean now: what
    it reports is still recorded and billed, at the time we received it."""
    try:
        at = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise TypeConstraintViolationError(
            details={"cause": f"not a date-time: {text!r}"}
        ) from None
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    now = utcnow()
    if not plausible_instant(at, now):
        log.warning("a charger's clock says %s; taken as the receipt time %s", text[:40], now)
        return now
    return at


def energy_wh(meter_values: list[dict[str, Any]] | None) -> int | None:
    """The last energy register reading (Wh) in OCPP meter values (1.6 or 2.0.1 shape)."""
    reading: int | None = None
    for meter_value in meter_values or []:
        for sample in meter_value.get("sampled_value") or []:
            if sample.get("measurand", ENERGY_REGISTER) != ENERGY_REGISTER:
                continue
            unit = sample.get("unit")
            multiplier = 0
            if isinstance(sample.get("unit_of_measure"), dict):
                unit = sample["unit_of_measure"].get("unit", unit)
                multiplier = int(sample["unit_of_measure"].get("multiplier", 0))
            try:
                value = float(sample["value"]) * 10**multiplier
            except (KeyError, TypeError, ValueError):
                continue
            reading = round(value * 1000 if unit == "kWh" else value)
    return reading


def sampled_at(meter_values: list[dict[str, Any]] | None, default: datetime) -> datetime:
    """When the last of these meter values was sampled (each carries its timestamp)."""
    if not meter_values:
        return default
    return parse_time(meter_values[-1]["timestamp"])


class CentralSystemChargePoint(ChargePoint):  # type: ignore[misc]
    """One connected charger as the central system sees it."""

    ocpp_version: ClassVar[str]
    unknown_message_type: ClassVar[str]
    missing_field: ClassVar[str]
    calls: ClassVar[metrics.OcppCalls]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.calls = metrics.OcppCalls(cls.ocpp_version, frozenset(schemas.actions_of(cls)))

    def __init__(
        self,
        charge_point_id: str,
        connection: StarletteConnection,
        *,
        charger: Charger,
        sessionmaker: async_sessionmaker[AsyncSession],
        reads: ReadPool,
        seen: Callable[[], None],
    ) -> None:
        super().__init__(charge_point_id, connection, response_timeout=30, logger=FRAME_LOG)
        self.charger = charger
        self.charger_id = charger.id
        self._sessionmaker = sessionmaker
        self._reads = reads
        self._seen = seen

    async def start(self) -> None:
        """The receive loop; every line logged while it runs names the charger."""
        token = charge_point_id_var.set(self.id)
        try:
            await super().start()
        finally:
            charge_point_id_var.reset(token)

    async def route_message(self, raw_msg: str) -> None:
        self._seen()
        try:
            msg = unpack(raw_msg)
        except OCPPError as error:
            await self._send_error(_unique_id(raw_msg), self._frame_error_code(error), error)
            return
        except RecursionError:  # JSON nested deeper than the parser goes
            log.warning("%s: a frame nested too deep (%d bytes)", self.id, len(raw_msg))
            too_deep = FormatViolationError(details={"cause": "JSON nested too deep"})
            await self._send_error(_unique_id(raw_msg), self._frame_error_code(too_deep), too_deep)
            return
        if len(msg.unique_id) > MESSAGE_ID_MAX:
            log.warning("%s: a message id of %d characters", self.id, len(msg.unique_id))
            too_long = FormatViolationError(details={"cause": "message id longer than 36"})
            await self._send_error(
                msg.unique_id[:MESSAGE_ID_MAX], self._frame_error_code(too_long), too_long
            )
            return
        if msg.message_type_id != MessageType.Call:
            self._response_queue.put_nowait(msg)
            return
        self.calls.count(msg.action)
        try:
            await self._handle_call(msg)
        except OCPPError as error:
            await self._send_error(msg.unique_id, self._payload_error_code(error), error)
        except Exception:  # never let one frame end the connection
            log.exception("%s: unexpected error handling %s", self.id, msg.action)
            await self._send(msg.create_call_error(Exception()).to_json())

    def _frame_error_code(self, error: OCPPError) -> str:
        if isinstance(error, FormatViolationError) and self.ocpp_version == "1.6":
            return "FormationViolation"
        if isinstance(error, PropertyConstraintViolationError):  # unknown MessageTypeId
            return self.unknown_message_type
        return str(error.code)

    def _payload_error_code(self, error: OCPPError) -> str:
        if isinstance(error, FormatViolationError) and self.ocpp_version == "1.6":
            return "FormationViolation"
        if isinstance(error, ProtocolError):  # the schema's "required": a field is missing
            return self.missing_field
        return str(error.code)

    async def _send_error(self, unique_id: str, code: str, error: OCPPError) -> None:
        cause = error.details.get("cause") if isinstance(error.details, dict) else None
        details = {"cause": str(cause)[:200]} if cause else {}
        await self._send(CallError(unique_id, code, str(error.description), details).to_json())

    async def guarded(
        self,
        work: Callable[[AsyncSession, Charger], Awaitable[T]],
        refused: Callable[[ChargeGroupsError], T],
    ) -> T:
        """Run ``work`` in one transaction with the charger's current row; a domain error is
        answered with ``refused(error)`` (the message's own status), never as InternalError."""
        try:
            async with unit_of_work(self._sessionmaker) as session:
                charger = await session.get(Charger, self.charger_id)
                if charger is None:
                    raise NotFound("The charger was removed.")
                return await work(session, charger)
        except ChargeGroupsError as error:
            return self._refuse(refused, error)

    async def guarded_read(
        self,
        work: Callable[[ReadPool, Charger], Awaitable[T]],
        refused: Callable[[ChargeGroupsError], T],
    ) -> T:
        """:meth:`guarded` for the hot path of Authorize: work that writes nothing and reads all
        it needs afresh by the charger's id (the decision) gets the row read at the handshake
        and the read pool (``database.ReadPool``): no transaction, no session."""
        try:
            return await work(self._reads, self.charger)
        except ChargeGroupsError as error:
            return self._refuse(refused, error)

    def _refuse(self, refused: Callable[[ChargeGroupsError], T], error: ChargeGroupsError) -> T:
        log.warning("%s: %s (%s)", self.id, error.detail, error.code)
        return refused(error)

    async def charger_booted(self) -> None:
        async def work(session: AsyncSession, charger: Charger) -> None:
            await sessions.charger_booted(session, charger=charger)

        await self.guarded(work, lambda _: None)

    async def record_operation(
        self, operation: str, status: str, request_id: int | None = None
    ) -> None:
        """A firmware, diagnostics or log upload's progress, kept on the charger."""
        at = utcnow()

        async def work(session: AsyncSession, charger: Charger) -> None:
            await chargers.record_operation_status(
                session, charger, operation, status, request_id=request_id, at=at
            )

        await self.guarded(work, lambda _: None)

    async def record_security_event(self, kind: str, timestamp: str, tech_info: str | None) -> None:
        at = parse_time(timestamp)

        async def work(session: AsyncSession, charger: Charger) -> None:
            await chargers.record_security_event(
                session, charger, kind=kind, at=at, tech_info=tech_info
            )

        await self.guarded(work, lambda _: None)

    async def clear_cache(self) -> None:
        raise NotImplementedError

    async def send_call(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Call ``action`` (the ``ocpp`` library's name of the call, in this charger's version)
        with ``payload`` (snake_case); the charger's answer as a dict."""
        from chargegroups.ocpp.commands import ChargerRefused

        request_class = getattr(_CALLS[self.ocpp_version], action, None)
        if not isinstance(request_class, type) or not dataclasses.is_dataclass(request_class):
            raise InvalidInput(f"OCPP {self.ocpp_version} has no call {action!r}.")
        try:
            request = request_class(**payload)
        except TypeError as error:
            raise InvalidInput(f"Not a {action} of OCPP {self.ocpp_version}: {error}") from None
        try:
            result = await self.call(request, suppress=False)
        except OCPPError as error:
            raise ChargerRefused(
                f"The charger answered {action} with {type(error).__name__}: {error.description}"
            ) from None
        answer: dict[str, Any] = dataclasses.asdict(result)
        return answer


_CALLS = {"1.6": ocpp.v16.call, "2.0.1": ocpp.v201.call}


def _unique_id(raw: str) -> str:
    """The message id of a frame we could not unpack, when it has one; else "-1" (OCPP-J)."""
    try:
        data = json.loads(raw)
    except (TypeError, ValueError):
        return "-1"
    except RecursionError:  # the id comes before the depth: read it from the frame's start
        found = _LEADING_ID.match(raw)
        return found.group(1)[:MESSAGE_ID_MAX] if found else "-1"
    if isinstance(data, list) and len(data) > 1 and isinstance(data[1], str):
        return data[1][:MESSAGE_ID_MAX]
    return "-1"
