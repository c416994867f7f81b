"""Remote operations on a charger (CSMS-initiated calls), for operator admins, through the node
that holds it (``commands``). Each is audited with the charger's answer."""

from __future__ import annotations

from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.audit.service import record_change
from chargegroups.auth.subject import AuthSubject
from chargegroups.errors import NotPermitted
from chargegroups.ocpp import presence
from chargegroups.ocpp.commands import ChargerCommands

ResetKind = Literal["soft", "hard"]
# 1.6 Reset.type; 2.0.1 Reset.type: a soft reset waits for running transactions to end.
RESET_TYPES: dict[str, dict[ResetKind, str]] = {
    "1.6": {"soft": "Soft", "hard": "Hard"},
    "2.0.1": {"soft": "OnIdle", "hard": "Immediate"},
}


async def reset(
    session: AsyncSession,
    commands: ChargerCommands,
    subject: AuthSubject,
    charger_id: str,
    kind: ResetKind,
) -> tuple[str, str]:
    """Ask the charger to reboot; its answer's status and the OCPP version it speaks."""
    charger = await presence.visible_charger(session, subject, charger_id)
    if not subject.is_operator_admin:
        raise NotPermitted("Only operator admins reset chargers.")
    version = await commands.ocpp_version(session, charger.id)
    answer = await commands.call(session, charger.id, "Reset", {"type": RESET_TYPES[version][kind]})
    status = str(answer["status"])
    await record_change(
        session,
        subject.actor,
        "charger.reset",
        target_type="charger",
        target_id=charger.id,
        operator_id=charger.operator_id,
        account_id=charger.account_id,
        after={"type": kind, "status": status, "ocpp_version": version},
    )
    return status, version
