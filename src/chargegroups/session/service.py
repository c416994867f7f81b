"""Charging sessions (B1, B2): one row per charger transaction, priced once when it ends.

The decision snapshot (deciding group, discount, payer, rate-plan version, currency) is taken
when the transaction starts and never changes afterwards (D7).

Times (documented in docs/ocpp.md): charging time runs from the start to the moment the vehicle
stopped drawing energy (the connector reported ``SuspendedEV``/``Finishing``, or 2.0.1's charging
state left ``Charging``), or to the stop when it never did; idle time runs from that moment to the
stop. If the vehicle draws energy again, the idle mark is cleared.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.audit.service import record_change
from chargegroups.auth.subject import SYSTEM, Actor, AuthSubject
from chargegroups.billing import service as billing_service
from chargegroups.charger.rules import has_place
from chargegroups.charger.service import charger_actor
from chargegroups.decision.loader import normalize_token_uid
from chargegroups.decision.rules import Decision
from chargegroups.decision.service import decide_for_token
from chargegroups.errors import Conflict, InvalidInput, NotFound, NotPermitted
from chargegroups.kit.clock import utcnow
from chargegroups.kit.pagination import Page, PageRequest, paginate
from chargegroups.models import Charger, ChargingSession, Operator, RatePlan, User
from chargegroups.models.rate_plan import RatePlanVersion
from chargegroups.rate_plan.rules import (
    Discount,
    SessionMeasurements,
    price_session,
    terms_from_dict,
)
from chargegroups.session import repository
from chargegroups.session.rules import (
    CHARGER_BOOTED,
    MAX_DURATION,
    NEW_TRANSACTION_ON_EVSE,
    last_activity,
    outlived,
)

log = logging.getLogger(__name__)

ACTIVE = "active"
ENDED_BY_CHARGER = "charger"
ENDED_BY_SYSTEM = "system"
ENDED_BY_OPERATOR = "operator"
COMPLETED = "completed"
REFUSED = "refused"
_WH_PER_KWH = Decimal(1000)


@dataclass(frozen=True, slots=True)
class StartOutcome:
    """``decision`` is None when the start was a replay of one already recorded."""

    session: ChargingSession
    decision: Decision | None
    parent_id_tag: str | None


@dataclass(frozen=True, slots=True)
class StopOutcome:
    """``session`` is None for a transaction this charger never started with us."""

    session: ChargingSession | None
    already_stopped: bool


async def start_transaction(
    session: AsyncSession,
    *,
    charger: Charger,
    evse_id: int,
    connector_id: int,
    token_uid: str,
    meter_start_wh: int,
    started_at: datetime,
    transaction_id: str | None = None,
) -> StartOutcome:
    """Record a transaction's start with the decision taken now; idempotent (B2).

    ``transaction_id`` is the charger's (OCPP 2.0.1); None asks for a new one (OCPP 1.6, where
    the central system numbers transactions per charger). A refused start is kept with status
    ``refused`` and nothing to bill, so the number it was given is never reused.
    """
    existing = (
        await repository.by_transaction(session, charger.id, transaction_id)
        if transaction_id is not None
        else await repository.same_start(
            session,
            charger_id=charger.id,
            evse_id=evse_id,
            token_uid=token_uid,
            started_at=started_at,
            meter_start_wh=meter_start_wh,
        )
    )
    if existing is not None:
        return StartOutcome(existing, None, await _parent_id_tag(session, existing))
    require_place(charger, evse_id, connector_id)
    if meter_start_wh < 0:
        raise InvalidInput("A meter reading is never negative.", code="negative_meter")
    await _end_orphans_before(
        session, charger, evse_id=evse_id, token_uid=token_uid, started_at=started_at
    )

    # Decided as of the start (memberships then), answered now: a start the charger reports
    # late must not carry an authorization-cache expiry already in the past.
    decision = await decide_for_token(
        session, charger=charger, token_uid=token_uid, at=started_at, answered_at=utcnow()
    )
    if transaction_id is None:
        transaction_id = str(await repository.transaction_count(session, charger.id) + 1)
    row = ChargingSession(
        operator_id=charger.operator_id,
        charger_id=charger.id,
        account_id=charger.account_id,
        evse_id=evse_id,
        connector_id=connector_id,
        transaction_id=transaction_id,
        user_id=decision.user_id,
        token_uid=token_uid,
        status=ACTIVE if decision.allowed else REFUSED,
        started_at=started_at,
        meter_start_wh=meter_start_wh,
        meter_last_wh=meter_start_wh,
        meter_last_at=started_at,
        payer_kind="driver",
        # A refused start is over at once: it never counts as an unfinished transaction (D3).
        stopped_at=None if decision.allowed else started_at,
        ended_by=None if decision.allowed else ENDED_BY_CHARGER,
    )
    if decision.allowed:
        row.deciding_group_id = decision.deciding_group_id
        row.discount = decision.discount.to_dict() if decision.discount is not None else None
        if decision.payer is not None:
            row.payer_kind = decision.payer.kind
            row.payer_user_id = decision.payer.user_id
            row.payer_group_id = decision.payer.group_id
        plan = await session.get(RatePlan, decision.rate_plan.id) if decision.rate_plan.id else None
        if plan is not None:
            row.rate_plan_id = plan.id
            row.rate_plan_version = decision.rate_plan.version
            row.currency = plan.currency
    session.add(row)
    await session.flush()
    await record_change(
        session,
        charger_actor(charger),
        "session.started" if decision.allowed else "session.refused",
        target_type="charging_session",
        target_id=row.id,
        operator_id=charger.operator_id,
        account_id=charger.account_id,
        after={
            "transaction_id": transaction_id,
            "token_uid": token_uid,
            "reason": decision.reason,
        },
    )
    return StartOutcome(row, decision, decision.parent_id_tag)


def require_place(charger: Charger, evse_id: int, connector_id: int) -> None:
    """A transaction only where the charger has that EVSE and connector (charger.rules)."""
    if not has_place(charger.connectors, charger.device_model, evse_id, connector_id):
        raise InvalidInput(
            f"The charger has no EVSE {evse_id} connector {connector_id}.", code="unknown_place"
        )


async def record_meter(
    session: AsyncSession, *, charger: Charger, transaction_id: str, energy_wh: int, at: datetime
) -> None:
    """Keep the latest energy register reading of an unfinished transaction, and its time."""
    row = await repository.by_transaction(session, charger.id, transaction_id)
    if row is None or row.status != ACTIVE or energy_wh < 0:
        return
    _read(row, energy_wh, at)
    await session.flush()


async def record_meter_at(
    session: AsyncSession, *, charger: Charger, evse_id: int, energy_wh: int, at: datetime
) -> None:
    """Meter values that name no transaction (1.6 without transactionId, 2.0.1 MeterValues)
    belong to the unfinished session at that EVSE, if there is one."""
    if energy_wh < 0:
        return
    for row in await repository.unfinished_at_evse(session, charger.id, evse_id):
        _read(row, energy_wh, at)
    await session.flush()


def _read(row: ChargingSession, energy_wh: int, at: datetime) -> None:
    row.meter_last_wh = energy_wh
    row.meter_last_at = max(at, row.meter_last_at or at)


async def charging_changed(
    session: AsyncSession,
    *,
    charger: Charger,
    charging: bool,
    at: datetime,
    evse_id: int | None = None,
    transaction_id: str | None = None,
) -> None:
    """The vehicle stopped (or resumed) drawing energy: start (or clear) the idle mark."""
    if transaction_id is not None:
        found = await repository.by_transaction(session, charger.id, transaction_id)
        rows = [found] if found is not None and found.status == ACTIVE else []
    elif evse_id is not None:
        rows = list(await repository.unfinished_at_evse(session, charger.id, evse_id))
    else:
        return
    for row in rows:
        if charging:
            row.charging_ended_at = None
        elif row.charging_ended_at is None:
            row.charging_ended_at = max(at, row.started_at)
    await session.flush()


async def stop_transaction(
    session: AsyncSession,
    *,
    charger: Charger,
    transaction_id: str,
    stopped_at: datetime,
    meter_stop_wh: int | None,
    reason: str | None = None,
) -> StopOutcome:
    """End a transaction and price it, once (B2): a replayed or late stop changes nothing."""
    row = await repository.by_transaction(session, charger.id, transaction_id, for_update=True)
    if row is None:
        await record_change(
            session,
            charger_actor(charger),
            "session.stop_unknown",
            target_type="charger",
            target_id=charger.id,
            operator_id=charger.operator_id,
            account_id=charger.account_id,
            after={"transaction_id": transaction_id, "stopped_at": stopped_at.isoformat()},
        )
        return StopOutcome(None, already_stopped=False)
    if row.stopped_at is not None:
        return StopOutcome(row, already_stopped=True)
    await _finish(
        session,
        charger,
        row,
        stopped_at=stopped_at,
        meter_stop_wh=meter_stop_wh,
        actor=charger_actor(charger),
        action="session.stopped",
        ended_by=ENDED_BY_CHARGER,
        reason=reason,
    )
    return StopOutcome(row, already_stopped=False)


async def _finish(
    session: AsyncSession,
    charger: Charger,
    row: ChargingSession,
    *,
    stopped_at: datetime,
    meter_stop_wh: int | None,
    actor: Actor,
    action: str,
    ended_by: str,
    reason: str | None,
) -> None:
    """End an unfinished session: measured, priced once, on its payer's statement, audited."""
    stopped_at = max(stopped_at, row.started_at)
    # A negative reading is no reading: the last one we kept stands in.
    usable = meter_stop_wh is not None and meter_stop_wh >= 0
    meter_stop = meter_stop_wh if usable else row.meter_last_wh
    meter_stop = row.meter_start_wh if meter_stop is None else meter_stop
    charging_end = row.charging_ended_at or stopped_at
    row.stopped_at = stopped_at
    row.ended_by = ended_by
    row.end_reason = None if reason is None else reason[:200]
    row.meter_last_wh = meter_stop
    row.energy_kwh = max(Decimal(meter_stop - row.meter_start_wh), Decimal(0)) / _WH_PER_KWH
    row.charging_seconds = int((charging_end - row.started_at).total_seconds())
    row.idle_seconds = int((stopped_at - charging_end).total_seconds())
    if row.status == ACTIVE:
        row.status = COMPLETED
        await _price(session, charger, row, charging_end)
    await session.flush()
    if row.total is not None:
        # B3: the payer's statement takes the session in the same transaction as its price.
        await billing_service.assign_to_statement(session, row)
    await record_change(
        session,
        actor,
        action,
        target_type="charging_session",
        target_id=row.id,
        operator_id=charger.operator_id,
        account_id=charger.account_id,
        after={
            "transaction_id": row.transaction_id,
            "energy_kwh": str(row.energy_kwh),
            "total": None if row.total is None else str(row.total),
            "stopped_at": stopped_at.isoformat(),
            "reason": reason,
        },
    )


async def _end_orphans(
    session: AsyncSession, charger: Charger, rows: Sequence[ChargingSession], reason: str
) -> None:
    """Sessions whose charger will never end them, ended at the last we heard of them."""
    for row in rows:
        if row.stopped_at is not None:
            continue
        await _finish(
            session,
            charger,
            row,
            stopped_at=last_activity(row.started_at, row.meter_last_at, row.charging_ended_at),
            meter_stop_wh=None,
            actor=SYSTEM,
            action="session.ended_by_system",
            ended_by=ENDED_BY_SYSTEM,
            reason=reason,
        )


async def charger_booted(session: AsyncSession, *, charger: Charger) -> None:
    """A charger that boots has forgotten the transactions it had running: their sessions end.
    (A stop it sends afterwards changes nothing, B2.)"""
    rows = await repository.unfinished_of_charger(session, charger.id, for_update=True)
    await _end_orphans(session, charger, rows, CHARGER_BOOTED)


async def _end_orphans_before(
    session: AsyncSession,
    charger: Charger,
    *,
    evse_id: int,
    token_uid: str,
    started_at: datetime,
) -> None:
    """Before a start is decided: a transaction still open on the same EVSE is over (the
    charger lost its stop), and so is one of this token past the operator's maximum duration,
    so ConcurrentTx answers only for a token charging right now."""
    at_evse = await repository.unfinished_at_evse(session, charger.id, evse_id, for_update=True)
    await _end_orphans(session, charger, at_evse, NEW_TRANSACTION_ON_EVSE)
    operator = await session.get_one(Operator, charger.operator_id)
    of_token = await repository.unfinished_of_token(
        session, charger.operator_id, token_uid, for_update=True
    )
    for row in of_token:
        if not outlived(row.started_at, started_at, operator.max_session_hours):
            continue
        row_charger = await session.get_one(Charger, row.charger_id)
        await _end_orphans(session, row_charger, [row], MAX_DURATION)


async def end_session(
    session: AsyncSession, subject: AuthSubject, session_id: str, *, reason: str
) -> ChargingSession:
    """An operator admin ends a session by hand, at the last we heard of it."""
    visible = await get_session(session, subject, session_id)
    if not subject.is_operator_admin:
        raise NotPermitted("Only operator admins end sessions.")
    row = await repository.by_transaction(
        session, visible.charger_id, visible.transaction_id, for_update=True
    )
    if row is None:  # sessions are never deleted; this keeps the type honest
        raise NotFound("No such session.")
    if row.stopped_at is not None:
        raise Conflict("The session has ended already.", code="session_already_ended")
    charger = await session.get_one(Charger, row.charger_id)
    await _finish(
        session,
        charger,
        row,
        stopped_at=last_activity(row.started_at, row.meter_last_at, row.charging_ended_at),
        meter_stop_wh=None,
        actor=subject.actor,
        action="session.ended_by_operator",
        ended_by=ENDED_BY_OPERATOR,
        reason=reason,
    )
    return row


async def _price(
    session: AsyncSession, charger: Charger, row: ChargingSession, charging_end: datetime
) -> None:
    if row.rate_plan_id is None or row.rate_plan_version is None:
        return
    version = (
        await session.execute(
            select(RatePlanVersion).where(
                RatePlanVersion.rate_plan_id == row.rate_plan_id,
                RatePlanVersion.version == row.rate_plan_version,
            )
        )
    ).scalar_one_or_none()
    if version is None:
        log.warning("session %s: rate plan version not found; left unpriced", row.id)
        return
    try:
        terms = terms_from_dict(version.terms)
        discount = Discount.from_dict(row.discount) if row.discount else None
    except ValueError:
        log.exception("session %s: stored rate plan terms unreadable; left unpriced", row.id)
        return
    operator = await session.get_one(Operator, row.operator_id)
    priced = price_session(
        terms,
        discount,
        SessionMeasurements(
            started_at=row.started_at,
            stopped_at=charging_end,
            energy_kwh=row.energy_kwh,
            charging_seconds=row.charging_seconds,
            idle_seconds=row.idle_seconds,
            idle_started_at=charging_end,
            timezone=operator.timezone,
        ),
        charger.energy_cost_per_kwh,
    )
    row.lines = [
        {"kind": line.kind, "description": line.description, "amount": str(line.amount)}
        for line in priced.lines
    ]
    row.subtotal = priced.subtotal
    row.vat = priced.vat
    row.total = priced.total
    row.currency = priced.currency


def same_token(row: ChargingSession, token_uid: str) -> bool:
    return normalize_token_uid(row.token_uid) == normalize_token_uid(token_uid)


async def _parent_id_tag(session: AsyncSession, row: ChargingSession) -> str | None:
    if row.user_id is None or row.status == REFUSED:
        return None
    user = await session.get(User, row.user_id)
    return None if user is None else user.parent_id_tag


async def list_sessions(
    session: AsyncSession, subject: AuthSubject, page: PageRequest
) -> Page[ChargingSession]:
    stmt = repository.list_statement(subject)
    return await paginate(session, stmt, ChargingSession.id, page, descending=True)


async def get_session(
    session: AsyncSession, subject: AuthSubject, session_id: str
) -> ChargingSession:
    row = await repository.get_visible(session, subject, session_id)
    if row is None:
        raise NotFound("No such session.")
    return row


async def charge_point_ids(session: AsyncSession, rows: list[ChargingSession]) -> dict[str, str]:
    return await repository.charge_point_ids(session, {row.charger_id for row in rows})
