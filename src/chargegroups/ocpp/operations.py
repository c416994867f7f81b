"""Remote operations on a charger (CSMS-initiated calls), through the node that holds it
(``commands``). Each is said once, version-neutrally, and built as the call of the version the
charger speaks now; each is audited with the charger's answer.

Operator admins may run every operation; account admins, on their own account's chargers,
remote start and stop and availability (the charger's reach, ``presence.visible_charger``,
answers 404 for everyone else).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.audit.service import record_change
from chargegroups.auth.subject import AuthSubject
from chargegroups.decision.service import decide_for_token
from chargegroups.errors import Conflict, InvalidInput, NotPermitted
from chargegroups.kit.clock import utcnow
from chargegroups.models import Charger
from chargegroups.ocpp import presence
from chargegroups.ocpp.commands import ChargerCommands

ResetKind = Literal["soft", "hard"]
Trigger = Literal["BootNotification", "Heartbeat", "StatusNotification", "MeterValues"]
#: A call of the charger's version: (action, payload in snake_case).
Call = tuple[str, dict[str, Any]]


class NotSupportedByVersion(Conflict):
    code = "not_supported_by_version"


class RemoteStartRefused(Conflict):
    """The token may not charge there (the decision, as for Authorize)."""

    code = "remote_start_refused"


@dataclass(frozen=True, slots=True)
class Outcome:
    ocpp_version: str
    answer: dict[str, Any]

    @property
    def status(self) -> str | None:
        status = self.answer.get("status")
        return None if status is None else str(status)


async def _run(
    session: AsyncSession,
    commands: ChargerCommands,
    subject: AuthSubject,
    charger_id: str,
    name: str,
    build: Callable[[str], Call],
    *,
    account_admins: bool = False,
    asked: dict[str, Any] | None = None,
    check: Callable[[Charger, str], Awaitable[None]] | None = None,
) -> Outcome:
    charger = await presence.visible_charger(session, subject, charger_id)
    if not (subject.is_operator_admin or account_admins):
        raise NotPermitted(f"Only operator admins {name.replace('_', ' ')} chargers.")
    version = await commands.ocpp_version(session, charger.id)
    if check is not None:
        await check(charger, version)
    action, payload = build(version)
    answer = await commands.call(session, charger.id, action, payload)
    outcome = Outcome(version, answer)
    await record_change(
        session,
        subject.actor,
        f"charger.{name}",
        target_type="charger",
        target_id=charger.id,
        operator_id=charger.operator_id,
        account_id=charger.account_id,
        after={**(asked or {}), "ocpp_version": version, "status": outcome.status},
    )
    return outcome


def _only_201(action: str) -> Callable[[Charger, str], Awaitable[None]]:
    async def check(_charger: Charger, version: str) -> None:
        if version != "2.0.1":
            raise NotSupportedByVersion(f"OCPP {version} has no {action}.")

    return check


def _evse(evse_id: int | None, connector_id: int | None) -> dict[str, Any] | None:
    if evse_id is None:
        if connector_id is not None:
            raise InvalidInput("A connector is named within an EVSE: give evse_id too.")
        return None
    return {"id": evse_id} | ({} if connector_id is None else {"connector_id": connector_id})


async def reset(
    session: AsyncSession,
    commands: ChargerCommands,
    subject: AuthSubject,
    charger_id: str,
    kind: ResetKind,
) -> Outcome:
    """Reboot: soft once running transactions end (1.6 Soft, 2.0.1 OnIdle), hard at once."""
    types = {
        "1.6": {"soft": "Soft", "hard": "Hard"},
        "2.0.1": {"soft": "OnIdle", "hard": "Immediate"},
    }
    return await _run(
        session, commands, subject, charger_id, "reset",
        lambda version: ("Reset", {"type": types[version][kind]}),
        asked={"type": kind},
    )  # fmt: skip


async def unlock(
    session: AsyncSession,
    commands: ChargerCommands,
    subject: AuthSubject,
    charger_id: str,
    *,
    evse_id: int,
    connector_id: int,
) -> Outcome:
    """Release a connector's cable (1.6 counts connectors from 1 over the charger)."""

    def build(version: str) -> Call:
        if version == "1.6":
            return "UnlockConnector", {"connector_id": connector_id}
        return "UnlockConnector", {"evse_id": evse_id, "connector_id": connector_id}

    return await _run(
        session, commands, subject, charger_id, "unlock", build,
        asked={"evse_id": evse_id, "connector_id": connector_id},
    )  # fmt: skip


async def change_availability(
    session: AsyncSession,
    commands: ChargerCommands,
    subject: AuthSubject,
    charger_id: str,
    *,
    operative: bool,
    evse_id: int | None,
    connector_id: int | None,
) -> Outcome:
    """Take the charger (or one EVSE or connector) out of service, or back into it."""
    status = "Operative" if operative else "Inoperative"

    def build(version: str) -> Call:
        if version == "1.6":  # connector 0: the whole charger
            return "ChangeAvailability", {
                "connector_id": connector_id or evse_id or 0,
                "type": status,
            }
        evse = _evse(evse_id, connector_id)
        return "ChangeAvailability", {"operational_status": status} | (
            {} if evse is None else {"evse": evse}
        )

    return await _run(
        session, commands, subject, charger_id, "availability", build, account_admins=True,
        asked={"operative": operative, "evse_id": evse_id, "connector_id": connector_id},
    )  # fmt: skip


async def trigger(
    session: AsyncSession,
    commands: ChargerCommands,
    subject: AuthSubject,
    charger_id: str,
    *,
    message: Trigger,
    evse_id: int | None,
    connector_id: int | None,
) -> Outcome:
    """Ask the charger to send a message now (its boot, a heartbeat, its status, meter values)."""

    def build(version: str) -> Call:
        if version == "1.6":
            return "TriggerMessage", {"requested_message": message} | (
                {} if connector_id is None else {"connector_id": connector_id}
            )
        evse = _evse(evse_id, connector_id)
        return "TriggerMessage", {"requested_message": message} | (
            {} if evse is None else {"evse": evse}
        )

    return await _run(
        session, commands, subject, charger_id, "trigger", build,
        asked={"message": message, "evse_id": evse_id, "connector_id": connector_id},
    )  # fmt: skip


def _component_variable(key: str) -> dict[str, Any]:
    """2.0.1 names a setting ``Component.Variable`` (e.g. ``OCPPCommCtrlr.HeartbeatInterval``)."""
    component, dot, variable = key.partition(".")
    if not dot or not component or not variable:
        raise InvalidInput(f"An OCPP 2.0.1 setting is named Component.Variable, not {key!r}.")
    return {"component": {"name": component}, "variable": {"name": variable}}


async def get_configuration(
    session: AsyncSession,
    commands: ChargerCommands,
    subject: AuthSubject,
    charger_id: str,
    *,
    keys: list[str],
) -> Outcome:
    """Read settings (1.6 GetConfiguration, every key when none is named; 2.0.1 GetVariables)."""

    def build(version: str) -> Call:
        if version == "1.6":
            return "GetConfiguration", {"key": keys} if keys else {}
        if not keys:
            raise InvalidInput("Name the OCPP 2.0.1 settings to read (Component.Variable).")
        return "GetVariables", {"get_variable_data": [_component_variable(k) for k in keys]}

    return await _run(
        session, commands, subject, charger_id, "get_configuration", build, asked={"keys": keys}
    )


async def set_configuration(
    session: AsyncSession,
    commands: ChargerCommands,
    subject: AuthSubject,
    charger_id: str,
    *,
    key: str,
    value: str,
) -> Outcome:
    """Change one setting (1.6 ChangeConfiguration, 2.0.1 SetVariables)."""

    def build(version: str) -> Call:
        if version == "1.6":
            return "ChangeConfiguration", {"key": key, "value": value}
        data = _component_variable(key) | {"attribute_value": value}
        return "SetVariables", {"set_variable_data": [data]}

    return await _run(
        session, commands, subject, charger_id, "set_configuration", build,
        asked={"key": key, "value": value},
    )  # fmt: skip


async def remote_start(
    session: AsyncSession,
    commands: ChargerCommands,
    subject: AuthSubject,
    charger_id: str,
    *,
    token_uid: str,
    evse_id: int | None,
) -> Outcome:
    """Start charging for a token, decided first by the same rules as Authorize (D1-D8): a
    token that may not charge there is refused here, the charger is not asked."""

    async def decided(charger: Charger, _version: str) -> None:
        decision = await decide_for_token(
            session, charger=charger, token_uid=token_uid, at=utcnow()
        )
        if not decision.allowed:
            raise RemoteStartRefused(
                f"This token may not charge at this charger ({decision.reason}).",
                reason=decision.reason,
            )

    def build(version: str) -> Call:
        if version == "1.6":
            return "RemoteStartTransaction", {"id_tag": token_uid} | (
                {} if evse_id is None else {"connector_id": evse_id}
            )
        return "RequestStartTransaction", {
            "id_token": {"id_token": token_uid, "type": "Central"},
            "remote_start_id": secrets.randbelow(2**31 - 1) + 1,
        } | ({} if evse_id is None else {"evse_id": evse_id})

    return await _run(
        session, commands, subject, charger_id, "remote_start", build, account_admins=True,
        asked={"token_uid": token_uid, "evse_id": evse_id}, check=decided,
    )  # fmt: skip


async def remote_stop(
    session: AsyncSession,
    commands: ChargerCommands,
    subject: AuthSubject,
    charger_id: str,
    *,
    transaction_id: str,
) -> Outcome:
    """Stop a transaction running on the charger (1.6 takes its number)."""

    def build(version: str) -> Call:
        if version == "1.6":
            if not transaction_id.isdigit():
                raise InvalidInput("An OCPP 1.6 transaction id is a number.")
            return "RemoteStopTransaction", {"transaction_id": int(transaction_id)}
        return "RequestStopTransaction", {"transaction_id": transaction_id}

    return await _run(
        session, commands, subject, charger_id, "remote_stop", build, account_admins=True,
        asked={"transaction_id": transaction_id},
    )  # fmt: skip


async def transaction_status(
    session: AsyncSession,
    commands: ChargerCommands,
    subject: AuthSubject,
    charger_id: str,
    *,
    transaction_id: str | None,
) -> Outcome:
    """Whether a transaction is still going on (2.0.1 GetTransactionStatus)."""

    payload = {} if transaction_id is None else {"transaction_id": transaction_id}
    return await _run(
        session, commands, subject, charger_id, "transaction_status",
        lambda _: ("GetTransactionStatus", payload),
        asked={"transaction_id": transaction_id}, check=_only_201("GetTransactionStatus"),
    )  # fmt: skip


async def base_report(
    session: AsyncSession, commands: ChargerCommands, subject: AuthSubject, charger_id: str
) -> Outcome:
    """Ask for the charger's whole device model (2.0.1 GetBaseReport FullInventory); it comes
    back in NotifyReport messages."""

    payload = {"request_id": secrets.randbelow(2**31 - 1) + 1, "report_base": "FullInventory"}
    return await _run(
        session, commands, subject, charger_id, "base_report",
        lambda _: ("GetBaseReport", payload), check=_only_201("GetBaseReport"),
    )  # fmt: skip
