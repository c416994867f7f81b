"""Which chargers are connected, and the charger rows the OCPP edge reads and stamps.

No ``ocpp`` library here: this is the edge's small service and repository.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.auth.subject import AuthSubject
from chargegroups.errors import NotFound
from chargegroups.models import Charger


async def by_charge_point_id(session: AsyncSession, charge_point_id: str) -> Charger | None:
    stmt = select(Charger).where(Charger.charge_point_id == charge_point_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def mark_seen(session: AsyncSession, seen: list[tuple[str, datetime, str]]) -> None:
    """Stamp chargers' last contact and protocol, many in one statement: ``(id, at, version)``.

    Status, not configuration: no audit event, and no news for other nodes. A charger removed
    meanwhile is not stamped (the table's statement, unlike the ORM's by primary key, does not
    count the rows it matched).
    """
    if seen:
        await session.execute(
            _STAMP,
            [{"b_id": i, "b_at": at, "b_version": version} for i, at, version in seen],
        )


_chargers = cast("Table", Charger.__table__)
_STAMP = (
    update(_chargers)
    .where(_chargers.c.id == bindparam("b_id"))
    .values(last_seen_at=bindparam("b_at"), ocpp_version=bindparam("b_version"))
)


async def visible_charger(session: AsyncSession, subject: AuthSubject, charger_id: str) -> Charger:
    """A charger the caller administers: operator admins, or admins of its owning account."""
    charger = await session.get(Charger, charger_id)
    if (
        charger is None
        or charger.operator_id != subject.operator_id
        or not (
            subject.is_operator_admin
            or (charger.account_id is not None and subject.manages_account(charger.account_id))
        )
    ):
        raise NotFound("No such charger.")
    return charger
