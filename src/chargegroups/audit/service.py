"""The one audit writer (U1) and reader (U2)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.auth.subject import Actor, AuthSubject
from chargegroups.errors import NotPermitted
from chargegroups.kit.pagination import Page, PageRequest, paginate
from chargegroups.kit.request_context import current_request_id
from chargegroups.models import AuditEvent, User


async def record_change(
    session: AsyncSession,
    actor: Actor,
    action: str,
    *,
    target_type: str,
    target_id: str,
    operator_id: str,
    account_id: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event in the caller's transaction: it lands exactly when the change does."""
    event = AuditEvent(
        operator_id=operator_id,
        account_id=account_id,
        actor_id=actor.id,
        actor_kind=actor.kind,
        action=action,
        target_type=target_type,
        target_id=target_id,
        before=before,
        after=after,
        request_id=current_request_id(),
    )
    session.add(event)
    await session.flush()
    return event


async def list_events(
    session: AsyncSession,
    subject: AuthSubject,
    page: PageRequest,
    *,
    target_type: str | None = None,
    target_id: str | None = None,
    actor_id: str | None = None,
    since: datetime | None = None,
) -> Page[AuditEvent]:
    if not subject.is_admin:
        raise NotPermitted("Only admins read the audit log.")
    stmt = select(AuditEvent).where(AuditEvent.operator_id == subject.operator_id)
    if not subject.is_operator_admin:
        stmt = stmt.where(AuditEvent.account_id.in_(subject.admin_account_ids))
    if target_type is not None:
        stmt = stmt.where(AuditEvent.target_type == target_type)
    if target_id is not None:
        stmt = stmt.where(AuditEvent.target_id == target_id)
    if actor_id is not None:
        stmt = stmt.where(AuditEvent.actor_id == actor_id)
    if since is not None:
        stmt = stmt.where(AuditEvent.created_at >= since)
    return await paginate(session, stmt, AuditEvent.id, page, descending=True)


async def actor_names(session: AsyncSession, events: Sequence[AuditEvent]) -> dict[str, str]:
    """Who acted, as people read it ("Name <email>"), for a page of events, in one query; an
    actor that is not a user (the system, an OCPP charger) has no entry."""
    ids = {e.actor_id for e in events if e.actor_kind == "user" and e.actor_id is not None}
    if not ids:
        return {}
    rows = await session.execute(select(User.id, User.name, User.email).where(User.id.in_(ids)))
    return {user_id: f"{name} <{email}>" for user_id, name, email in rows}
