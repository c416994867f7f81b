"""Chargers and charger scope (PRODUCT.md §4, C1 to C3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.audit.service import record_change
from chargegroups.auth.subject import Actor, AuthSubject
from chargegroups.charger import connections, repository
from chargegroups.charger.revocation import access_revoked
from chargegroups.charger.rules import (
    ConnectorStatus,
    DeviceModelPart,
    Fault,
    revokes_access,
    with_connector_status,
    with_device_model,
    with_faults,
    with_operation_status,
)
from chargegroups.errors import Conflict, InvalidInput, NotFound, NotPermitted
from chargegroups.group.service import visible_group
from chargegroups.kit.clock import utcnow
from chargegroups.kit.pagination import Page, PageRequest, paginate
from chargegroups.kit.patch import reject_nulls
from chargegroups.kit.secrets import hash_password_off_loop
from chargegroups.models import (
    Account,
    Charger,
    ChargerConnection,
    ChargerScope,
    RatePlan,
    UserGroup,
)

# What an account admin may change on its accounts' chargers (C3).
ACCOUNT_ADMIN_FIELDS = frozenset({"access_mode"})
EDITABLE = ("name", "site", "account_id", "access_mode", "rate_plan_id", "connectors")


@dataclass(frozen=True, slots=True)
class ScopeEntry:
    group: UserGroup
    read_only: bool


def snapshot(charger: Charger) -> dict[str, Any]:
    return {
        "charge_point_id": charger.charge_point_id,
        **{key: getattr(charger, key) for key in EDITABLE},
    }


async def online(session: AsyncSession, charger_ids: list[str]) -> dict[str, ChargerConnection]:
    """Which of these chargers are online, with their connections (``charger.connections``)."""
    return await connections.online(session, charger_ids, utcnow())


async def visible_charger(session: AsyncSession, subject: AuthSubject, charger_id: str) -> Charger:
    """The charger if ``subject`` may see it; NotFound otherwise (R3)."""
    charger = await repository.find_visible(session, subject, charger_id)
    if charger is None:
        raise NotFound("No such charger.")
    return charger


async def list_chargers(
    session: AsyncSession,
    subject: AuthSubject,
    page: PageRequest,
    *,
    account_id: str | None = None,
) -> Page[Charger]:
    if not subject.is_admin:
        raise NotPermitted("Only admins list chargers.")
    stmt = repository.chargers_stmt(subject, account_id=account_id)
    return await paginate(session, stmt, Charger.id, page)


async def _check_references(
    session: AsyncSession, operator_id: str, changes: dict[str, Any]
) -> None:
    if changes.get("account_id") is not None:
        account = await session.get(Account, changes["account_id"])
        if account is None or account.operator_id != operator_id:
            raise InvalidInput("No such account.", code="unknown_account")
    if changes.get("rate_plan_id") is not None:
        plan = await session.get(RatePlan, changes["rate_plan_id"])
        if plan is None or plan.operator_id != operator_id:
            raise InvalidInput("No such rate plan.", code="unknown_rate_plan")


async def _flush_unique_identity(session: AsyncSession) -> None:
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict(
            "A charger with this charge_point_id exists already.", code="charge_point_id_taken"
        ) from None


async def create_charger(
    session: AsyncSession, subject: AuthSubject, *, password: str, **fields: Any
) -> Charger:
    """C1: ``fields`` are charge_point_id, name, site, account_id, access_mode,
    rate_plan_id and connectors; the OCPP password is stored only as a hash (A8)."""
    if not subject.is_operator_admin:
        raise NotPermitted("Only operator admins add chargers.")
    await _check_references(session, subject.operator_id, fields)
    if await repository.charge_point_id_taken(session, fields["charge_point_id"]):
        raise Conflict(
            "A charger with this charge_point_id exists already.", code="charge_point_id_taken"
        )
    charger = Charger(
        operator_id=subject.operator_id,
        password_hash=await hash_password_off_loop(password),
        **fields,
    )
    session.add(charger)
    await _flush_unique_identity(session)
    await record_change(
        session,
        subject.actor,
        "charger.created",
        target_type="charger",
        target_id=charger.id,
        operator_id=charger.operator_id,
        account_id=charger.account_id,
        after=snapshot(charger),
    )
    return charger


async def update_charger(
    session: AsyncSession, subject: AuthSubject, charger_id: str, changes: dict[str, Any]
) -> Charger:
    charger = await visible_charger(session, subject, charger_id)
    if not subject.is_operator_admin and not set(changes) <= ACCOUNT_ADMIN_FIELDS:
        raise NotPermitted(
            "Account admins may change only a charger's access_mode.", code="field_not_permitted"
        )
    reject_nulls(changes, "name", "access_mode", "connectors", "password")
    await _check_references(session, charger.operator_id, changes)
    before = snapshot(charger)
    password = changes.pop("password", None)
    if password is not None:
        charger.password_hash = await hash_password_off_loop(password)
    for key, value in changes.items():
        setattr(charger, key, value)
    await session.flush()
    await record_change(
        session,
        subject.actor,
        "charger.updated",
        target_type="charger",
        target_id=charger.id,
        operator_id=charger.operator_id,
        account_id=charger.account_id,
        before=before,
        after={**snapshot(charger), "password_changed": password is not None},
    )
    if revokes_access(before["access_mode"], charger.access_mode):
        access_revoked(session, operator_id=charger.operator_id, charger_ids=[charger.id])
    return charger


def may_manage_link(subject: AuthSubject, charger: Charger, group: UserGroup) -> bool:
    """C3: operator admins link any group to any charger; account admins their accounts'
    account-level groups on chargers their accounts own."""
    if subject.is_operator_admin:
        return True
    admin_ids = subject.admin_account_ids
    return group.account_id in admin_ids and charger.account_id in admin_ids


async def list_scope(
    session: AsyncSession, subject: AuthSubject, charger_id: str
) -> list[ScopeEntry]:
    charger = await visible_charger(session, subject, charger_id)
    return [
        ScopeEntry(group=g, read_only=not may_manage_link(subject, charger, g))
        for g in await repository.scope_groups(session, charger.id)
    ]


async def _manageable_link(
    session: AsyncSession, subject: AuthSubject, charger_id: str, group_id: str
) -> tuple[Charger, UserGroup]:
    charger = await visible_charger(session, subject, charger_id)
    group = await visible_group(session, subject, group_id)
    if not may_manage_link(subject, charger, group):
        raise NotPermitted(
            "This group is read-only for you in charger scopes.", code="group_read_only"
        )
    return charger, group


async def add_to_scope(
    session: AsyncSession, subject: AuthSubject, charger_id: str, group_id: str
) -> None:
    """PUT semantics: linking a group already in scope changes nothing."""
    charger, group = await _manageable_link(session, subject, charger_id, group_id)
    if await repository.find_link(session, charger.id, group.id) is not None:
        return
    session.add(
        ChargerScope(
            charger_id=charger.id,
            group_id=group.id,
            operator_id=charger.operator_id,
            added_by_id=subject.user_id,
        )
    )
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict("The scope changed meanwhile; retry.", code="concurrent_change") from None
    await record_change(
        session,
        subject.actor,
        "charger_scope.added",
        target_type="charger",
        target_id=charger.id,
        operator_id=charger.operator_id,
        account_id=charger.account_id,
        after={"group_id": group.id, "group_name": group.name},
    )


async def remove_from_scope(
    session: AsyncSession, subject: AuthSubject, charger_id: str, group_id: str
) -> None:
    charger, group = await _manageable_link(session, subject, charger_id, group_id)
    link = await repository.find_link(session, charger.id, group.id)
    if link is None:
        raise NotFound("This group is not in the charger's scope.")
    await session.delete(link)
    await session.flush()
    await record_change(
        session,
        subject.actor,
        "charger_scope.removed",
        target_type="charger",
        target_id=charger.id,
        operator_id=charger.operator_id,
        account_id=charger.account_id,
        before={"group_id": group.id, "group_name": group.name},
    )
    access_revoked(session, operator_id=charger.operator_id, charger_ids=[charger.id])


# What chargers report over OCPP (the OCPP edge calls these in the message's transaction).


def charger_actor(charger: Charger) -> Actor:
    return Actor(kind="charger", id=charger.id)


async def _audit_reported(
    session: AsyncSession, charger: Charger, action: str, after: dict[str, Any]
) -> None:
    await record_change(
        session,
        charger_actor(charger),
        action,
        target_type="charger",
        target_id=charger.id,
        operator_id=charger.operator_id,
        account_id=charger.account_id,
        after=after,
    )


async def _audit_faults(session: AsyncSession, charger: Charger, faults: list[Fault]) -> None:
    for fault in faults:
        action = "charger.fault_cleared" if fault.cleared else "charger.fault"
        await _audit_reported(session, charger, action, fault.as_dict())


async def record_connector_status(
    session: AsyncSession, charger: Charger, status: ConnectorStatus
) -> None:
    """A connector's status is kept as telemetry (not audited); a fault it raises or clears
    is audited."""
    charger.station_status, changed = with_connector_status(charger.station_status, status)
    await session.flush()
    await _audit_faults(session, charger, changed)


async def record_faults(session: AsyncSession, charger: Charger, faults: list[Fault]) -> None:
    if not faults:
        return
    charger.station_status, changed = with_faults(charger.station_status, faults)
    await session.flush()
    await _audit_faults(session, charger, changed)


async def record_operation_status(
    session: AsyncSession,
    charger: Charger,
    operation: str,
    status: str,
    *,
    request_id: int | None = None,
    at: datetime,
) -> None:
    """Firmware, diagnostics and log uploads report their progress step by step."""
    charger.operations_status = with_operation_status(
        charger.operations_status, operation, status, request_id, at
    )
    await session.flush()
    await _audit_reported(
        session,
        charger,
        "charger.operation_status",
        {"operation": operation, "status": status, "request_id": request_id},
    )


async def record_device_model(
    session: AsyncSession, charger: Charger, part: DeviceModelPart, *, fresh: bool, at: datetime
) -> None:
    charger.device_model = with_device_model(charger.device_model, part, fresh=fresh, at=at)
    await session.flush()
    await _audit_reported(session, charger, "charger.device_model_reported", charger.device_model)


async def record_security_event(
    session: AsyncSession, charger: Charger, *, kind: str, at: datetime, tech_info: str | None
) -> None:
    """A charger's security event (OCPP SecurityEventNotification) lands in the audit log."""
    await _audit_reported(
        session,
        charger,
        "charger.security_event",
        {"type": kind, "at": at.isoformat(), "tech_info": tech_info},
    )
