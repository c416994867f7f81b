"""A charge point built on the ``ocpp`` library, for ``chargegroups simulate-charger``, the
end-to-end tests and the benchmark: it talks to the server exactly as a real charger would."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import datetime, timedelta
from typing import Any

import websockets
from ocpp.v16 import ChargePoint as ChargePoint16Client
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v16.enums import Action as Action16
from ocpp.v16.enums import ClearCacheStatus, ResetStatus
from ocpp.v201 import ChargePoint as ChargePoint201Client
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201
from ocpp.v201.enums import Action as Action201
from ocpp.v201.enums import ClearCacheStatusEnumType, ResetStatusEnumType
from websockets.asyncio.client import ClientConnection
from websockets.typing import Subprotocol

from chargegroups.kit.clock import utcnow
from chargegroups.ocpp.protocol import handles, ocpp_time

VERSIONS = ("1.6", "2.0.1")
Answer = tuple[str, dict[str, Any]]


#: The settings a simulated charger has (1.6 keys; 2.0.1 component and variable).
SETTINGS_16 = {"HeartbeatInterval": "300", "LocalAuthListEnabled": "false"}
SETTINGS_201 = {("OCPPCommCtrlr", "HeartbeatInterval"): "300"}


class Simulated16(ChargePoint16Client):  # type: ignore[misc]
    """Records ClearCache requests from the server (D8) in ``cleared``, and every other call
    the server makes in ``asked`` (action, payload), accepting it as a charger would."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cleared = asyncio.Event()
        self.asked: list[tuple[str, dict[str, Any]]] = []
        self.settings = dict(SETTINGS_16)

    @handles(Action16.clear_cache)
    def on_clear_cache(self) -> result16.ClearCache:
        self.cleared.set()
        return result16.ClearCache(status=ClearCacheStatus.accepted)

    @handles(Action16.reset)
    def on_reset(self, **payload: Any) -> result16.Reset:
        self.asked.append(("Reset", payload))
        return result16.Reset(status=ResetStatus.accepted)

    @handles(Action16.remote_start_transaction)
    def on_remote_start(self, **payload: Any) -> result16.RemoteStartTransaction:
        self.asked.append(("RemoteStartTransaction", payload))
        return result16.RemoteStartTransaction(status="Accepted")

    @handles(Action16.remote_stop_transaction)
    def on_remote_stop(self, **payload: Any) -> result16.RemoteStopTransaction:
        self.asked.append(("RemoteStopTransaction", payload))
        return result16.RemoteStopTransaction(status="Accepted")

    @handles(Action16.change_availability)
    def on_change_availability(self, **payload: Any) -> result16.ChangeAvailability:
        self.asked.append(("ChangeAvailability", payload))
        return result16.ChangeAvailability(status="Accepted")

    @handles(Action16.trigger_message)
    def on_trigger_message(self, **payload: Any) -> result16.TriggerMessage:
        self.asked.append(("TriggerMessage", payload))
        return result16.TriggerMessage(status="Accepted")

    @handles(Action16.get_configuration)
    def on_get_configuration(self, key: list[str] | None = None) -> result16.GetConfiguration:
        self.asked.append(("GetConfiguration", {"key": key}))
        wanted = key if key else list(self.settings)
        known = [
            {"key": k, "readonly": False, "value": self.settings[k]}
            for k in wanted
            if k in self.settings
        ]
        unknown = [k for k in wanted if k not in self.settings]
        return result16.GetConfiguration(configuration_key=known, unknown_key=unknown or None)

    @handles(Action16.change_configuration)
    def on_change_configuration(self, key: str, value: str) -> result16.ChangeConfiguration:
        self.asked.append(("ChangeConfiguration", {"key": key, "value": value}))
        if key not in self.settings:
            return result16.ChangeConfiguration(status="NotSupported")
        self.settings[key] = value
        return result16.ChangeConfiguration(status="Accepted")


class Simulated201(ChargePoint201Client):  # type: ignore[misc]
    """As :class:`Simulated16`, in OCPP 2.0.1."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cleared = asyncio.Event()
        self.asked: list[tuple[str, dict[str, Any]]] = []
        self.settings = dict(SETTINGS_201)

    @handles(Action201.clear_cache)
    def on_clear_cache(self, **_: Any) -> result201.ClearCache:
        self.cleared.set()
        return result201.ClearCache(status=ClearCacheStatusEnumType.accepted)

    @handles(Action201.reset)
    def on_reset(self, **payload: Any) -> result201.Reset:
        self.asked.append(("Reset", payload))
        return result201.Reset(status=ResetStatusEnumType.accepted)

    @handles(Action201.request_start_transaction)
    def on_request_start(self, **payload: Any) -> result201.RequestStartTransaction:
        self.asked.append(("RequestStartTransaction", payload))
        return result201.RequestStartTransaction(status="Accepted")

    @handles(Action201.request_stop_transaction)
    def on_request_stop(self, **payload: Any) -> result201.RequestStopTransaction:
        self.asked.append(("RequestStopTransaction", payload))
        return result201.RequestStopTransaction(status="Accepted")

    @handles(Action201.change_availability)
    def on_change_availability(self, **payload: Any) -> result201.ChangeAvailability:
        self.asked.append(("ChangeAvailability", payload))
        return result201.ChangeAvailability(status="Accepted")

    @handles(Action201.trigger_message)
    def on_trigger_message(self, **payload: Any) -> result201.TriggerMessage:
        self.asked.append(("TriggerMessage", payload))
        return result201.TriggerMessage(status="Accepted")

    @handles(Action201.get_transaction_status)
    def on_get_transaction_status(self, **payload: Any) -> result201.GetTransactionStatus:
        self.asked.append(("GetTransactionStatus", payload))
        return result201.GetTransactionStatus(messages_in_queue=False, ongoing_indicator=False)

    @handles(Action201.get_base_report)
    def on_get_base_report(self, **payload: Any) -> result201.GetBaseReport:
        self.asked.append(("GetBaseReport", payload))
        return result201.GetBaseReport(status="Accepted")

    @handles(Action201.get_variables)
    def on_get_variables(self, get_variable_data: list[dict[str, Any]], **_: Any) -> Any:
        self.asked.append(("GetVariables", {"get_variable_data": get_variable_data}))
        results = []
        for wanted in get_variable_data:
            name = (wanted["component"]["name"], wanted["variable"]["name"])
            value = self.settings.get(name)
            results.append(
                {
                    "attribute_status": "Accepted" if value is not None else "UnknownVariable",
                    "component": wanted["component"],
                    "variable": wanted["variable"],
                }
                | ({} if value is None else {"attribute_value": value})
            )
        return result201.GetVariables(get_variable_result=results)

    @handles(Action201.set_variables)
    def on_set_variables(self, set_variable_data: list[dict[str, Any]], **_: Any) -> Any:
        self.asked.append(("SetVariables", {"set_variable_data": set_variable_data}))
        results = []
        for wanted in set_variable_data:
            name = (wanted["component"]["name"], wanted["variable"]["name"])
            known = name in self.settings
            if known:
                self.settings[name] = wanted["attribute_value"]
            results.append(
                {
                    "attribute_status": "Accepted" if known else "UnknownVariable",
                    "component": wanted["component"],
                    "variable": wanted["variable"],
                }
            )
        return result201.SetVariables(set_variable_result=results)


def endpoint(url: str, charger: str) -> str:
    """``ws://host:port/ocpp`` + ``/CP_ID`` (a URL already naming the charger is kept)."""
    url = url.rstrip("/")
    return url if url.endswith(f"/{charger}") else f"{url}/{charger}"


def basic_auth(charger: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{charger}:{password}".encode()).decode()


async def open_socket(
    url: str, charger: str, password: str, version: str = "1.6"
) -> ClientConnection:
    """A WebSocket to the server's OCPP endpoint, authenticated, speaking ``version``."""
    return await websockets.connect(
        endpoint(url, charger),
        subprotocols=[Subprotocol(f"ocpp{version}")],
        additional_headers={"Authorization": basic_auth(charger, password)},
        open_timeout=30,
        max_queue=64,
    )


@asynccontextmanager
async def connected(
    url: str, charger: str, password: str, version: str = "1.6"
) -> AsyncIterator[Simulated16 | Simulated201]:
    """A running simulated charge point; closed when the block ends."""
    socket = await open_socket(url, charger, password, version)
    cp = (Simulated16 if version == "1.6" else Simulated201)(charger, socket)
    task = asyncio.create_task(cp.start())
    try:
        yield cp
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError, websockets.ConnectionClosed):
            await task
        await socket.close()


def as_dict(answer: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(answer) and not isinstance(answer, type):
        return dataclasses.asdict(answer)
    return {"error": "the server answered with a CallError"}


async def run_16(
    cp: Simulated16, token: str, kwh: float, *, started_at: datetime, idle_minutes: int = 0
) -> list[Answer]:
    """Boot, authorize, charge ``kwh`` and stop ``idle_minutes`` after the car is full."""
    answers: list[Answer] = []

    async def send(name: str, request: Any) -> Any:
        answer = await cp.call(request)
        answers.append((name, as_dict(answer)))
        return answer

    charged_at = started_at + timedelta(hours=1)
    await send("BootNotification", call16.BootNotification("chargegroups", "simulator"))
    await send("Authorize", call16.Authorize(id_tag=token))
    start = await send(
        "StartTransaction",
        call16.StartTransaction(
            connector_id=1, id_tag=token, meter_start=0, timestamp=ocpp_time(started_at)
        ),
    )
    if start is None or start.id_tag_info["status"] != "Accepted":
        return answers
    tx = start.transaction_id
    meter = round(kwh * 1000)
    await send(
        "MeterValues",
        call16.MeterValues(
            connector_id=1,
            transaction_id=tx,
            meter_value=[
                {
                    "timestamp": ocpp_time(charged_at),
                    "sampledValue": [{"value": str(meter), "unit": "Wh"}],
                }
            ],
        ),
    )
    if idle_minutes:
        await send(
            "StatusNotification",
            call16.StatusNotification(
                connector_id=1,
                error_code="NoError",
                status="SuspendedEV",
                timestamp=ocpp_time(charged_at),
            ),
        )
    await send(
        "StopTransaction",
        call16.StopTransaction(
            meter_stop=meter,
            timestamp=ocpp_time(charged_at + timedelta(minutes=idle_minutes)),
            transaction_id=tx,
            id_tag=token,
        ),
    )
    return answers


async def run_201(
    cp: Simulated201, token: str, kwh: float, *, started_at: datetime, idle_minutes: int = 0
) -> list[Answer]:
    answers: list[Answer] = []

    async def send(name: str, request: Any) -> Any:
        answer = await cp.call(request)
        answers.append((name, as_dict(answer)))
        return answer

    charged_at = started_at + timedelta(hours=1)
    id_token = {"id_token": token, "type": "ISO14443"}
    evse = {"id": 1, "connector_id": 1}
    tx = uuid.uuid4().hex
    meter = round(kwh * 1000)

    def event(kind: str, at: datetime, seq: int, wh: int, **info: Any) -> Any:
        return call201.TransactionEvent(
            event_type=kind,
            timestamp=ocpp_time(at),
            trigger_reason={"Started": "Authorized", "Ended": "StopAuthorized"}.get(
                kind, "MeterValuePeriodic"
            ),
            seq_no=seq,
            transaction_info={"transaction_id": tx, **info},
            id_token=id_token if kind != "Updated" else None,
            evse=evse,
            meter_value=[
                {"timestamp": ocpp_time(at), "sampled_value": [{"value": wh}]},
            ],
        )

    await send(
        "BootNotification",
        call201.BootNotification(
            charging_station={"model": "simulator", "vendor_name": "chargegroups"},
            reason="PowerUp",
        ),
    )
    await send("Authorize", call201.Authorize(id_token=id_token))
    started = await send(
        "TransactionEvent(Started)",
        event("Started", started_at, 0, 0, charging_state="Charging"),
    )
    if started is None or (started.id_token_info or {}).get("status") != "Accepted":
        return answers
    state = "SuspendedEV" if idle_minutes else "Charging"
    await send(
        "TransactionEvent(Updated)", event("Updated", charged_at, 1, meter, charging_state=state)
    )
    await send(
        "TransactionEvent(Ended)",
        event(
            "Ended",
            charged_at + timedelta(minutes=idle_minutes),
            2,
            meter,
            stopped_reason="Local",
        ),
    )
    return answers


async def simulate(
    url: str,
    charger: str,
    password: str,
    token: str,
    *,
    kwh: float = 10.0,
    version: str = "1.6",
    idle_minutes: int = 0,
) -> list[Answer]:
    """One full session against the server; returns each request's name and the answer."""
    started_at = utcnow() - timedelta(hours=1, minutes=idle_minutes)
    async with connected(url, charger, password, version) as cp:
        if isinstance(cp, Simulated16):
            return await run_16(cp, token, kwh, started_at=started_at, idle_minutes=idle_minutes)
        return await run_201(cp, token, kwh, started_at=started_at, idle_minutes=idle_minutes)
