"""Fetch exactly the facts :func:`chargegroups.decision.rules.decide` needs, in one round trip.

One statement starts at the charger (its access mode, owner, the operator's cache TTL and the
rate plan D4 resolves), joins the token and its user (or the user alone), whether that token is
in an unfinished session (D3), and the user's memberships with their groups, each group's
discount on the resolved plan (G9) and whether the charger's scope holds it. It returns one row
per membership (at least one). Only the human summary of the plan's terms is read separately,
once per (plan, version): versions never change, so that cache is always right.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import Select, and_, bindparam, false, func, null, select
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.decision.rules import (
    ChargerFacts,
    DecisionFacts,
    GroupFacts,
    RatePlanRef,
    TokenFacts,
    UserFacts,
    group_order_key,
)
from chargegroups.kit.clock import as_utc
from chargegroups.models import (
    Charger,
    ChargerScope,
    ChargingSession,
    DriverToken,
    GroupDiscount,
    GroupMembership,
    Operator,
    RatePlan,
    User,
    UserGroup,
)
from chargegroups.models.group import SCOPE_ACCOUNT
from chargegroups.rate_plan import repository as rate_plans
from chargegroups.rate_plan.rules import Discount, summary, terms_from_dict

__all__ = ["NO_RATE_PLAN", "load_for_token", "load_for_user", "normalize_token_uid"]

#: Stands in for the plan when D4 finds none (no override, no account or operator default):
#: the decision still answers, and the API shows ``rate_plan: null``.
NO_RATE_PLAN: Final = RatePlanRef(id="", version=0, summary="no rate plan")

_SUMMARIES: dict[tuple[str, int], RatePlanRef] = {}
_DISCOUNTS: dict[tuple[Decimal | None, bool], Discount] = {}
_COMPILED: dict[tuple[str, int], tuple[str, Any, dict[str, Any]]] = {}


def normalize_token_uid(uid: str) -> str:
    """Token uids are unique per operator, compared case-insensitively (API.md, Tokens)."""
    return uid.lower()


def _statement(*, by_token: bool) -> Select[Any]:
    if by_token:
        token_cols: tuple[Any, ...] = (DriverToken.uid, DriverToken.blocked, DriverToken.expires_at)
        unfinished: Any = (
            select(ChargingSession.id)
            .where(
                ChargingSession.user_id == User.id,
                ChargingSession.status == "active",
                func.lower(ChargingSession.token_uid) == DriverToken.uid_normalized,
            )
            .exists()
        )
    else:
        token_cols = (null(), null(), null())
        unfinished = false()
    stmt = rate_plans.charger_plan_from(
        select(
            Charger.access_mode,
            Charger.account_id,
            Operator.auth_cache_ttl_seconds,
            RatePlan.id,
            RatePlan.current_version,
            *token_cols,
            User.id,
            User.blocked,
            User.parent_id_tag,
            unfinished,
            UserGroup.id,
            UserGroup.name,
            UserGroup.scope_kind,
            UserGroup.created_at,
            GroupDiscount.percent,
            GroupDiscount.free,
            UserGroup.financial_owner_id,
            UserGroup.pays_at,
            GroupMembership.valid_until,
            ChargerScope.group_id,
        ).select_from(Charger)
    )
    if by_token:
        stmt = stmt.outerjoin(
            DriverToken,
            and_(
                DriverToken.operator_id == Charger.operator_id,
                DriverToken.uid_normalized == bindparam("uid"),
            ),
        ).outerjoin(User, User.id == DriverToken.user_id)
    else:
        stmt = stmt.outerjoin(
            User, and_(User.id == bindparam("user_id"), User.operator_id == Charger.operator_id)
        )
    return (
        stmt.outerjoin(GroupMembership, GroupMembership.user_id == User.id)
        .outerjoin(UserGroup, UserGroup.id == GroupMembership.group_id)
        .outerjoin(
            GroupDiscount,
            and_(GroupDiscount.group_id == UserGroup.id, GroupDiscount.rate_plan_id == RatePlan.id),
        )
        .outerjoin(
            ChargerScope,
            and_(ChargerScope.charger_id == Charger.id, ChargerScope.group_id == UserGroup.id),
        )
        .where(Charger.id == bindparam("charger_id"))
    )


_BY_TOKEN: Final = _statement(by_token=True)
_BY_USER: Final = _statement(by_token=False)


async def load_for_token(
    session: AsyncSession, *, charger_id: str, token_uid: str, at: datetime
) -> DecisionFacts | None:
    """The facts for ``token_uid`` presented at the charger; None if there is no such charger."""
    params = {"charger_id": charger_id, "uid": normalize_token_uid(token_uid)}
    rows = await _fetch(session, _BY_TOKEN, params)
    return await _facts(session, charger_id, rows, at, token_uid=token_uid)


async def load_for_user(
    session: AsyncSession, *, charger_id: str, user_id: str, at: datetime
) -> DecisionFacts | None:
    """The facts for the user without a token (the console's "may this driver charge here?");
    no token means no unfinished-transaction check (D3 is about a token)."""
    rows = await _fetch(session, _BY_USER, {"charger_id": charger_id, "user_id": user_id})
    return await _facts(session, charger_id, rows, at, token_uid=None)


async def _fetch(session: AsyncSession, stmt: Select[Any], params: dict[str, Any]) -> Any:
    """The rows, through the driver itself where we know it.

    This is the hot path of every Authorize: on SQLite no hop to aiosqlite's thread (four before),
    and on PostgreSQL a server-side prepared statement without the result machinery of
    SQLAlchemy (together most of the loader's time in the benchmark). The values come back raw
    (datetimes as text on SQLite); :func:`_facts` reads both forms.
    """
    conn = await session.connection()
    driver = conn.dialect.driver
    if driver not in ("aiosqlite", "psycopg"):
        return (await conn.execute(stmt, params)).all()
    key = (driver, id(stmt))
    found = _COMPILED.get(key)
    if found is None:
        compiled = stmt.compile(dialect=conn.dialect)
        found = _COMPILED[key] = (str(compiled), compiled.positiontup, dict(compiled.params))
    sql, order, defaults = found
    raw: Any = (await conn.get_raw_connection()).driver_connection
    values = {**defaults, **params}
    if driver == "aiosqlite":
        assert order is not None
        args = [values[name] for name in order]
        sync = getattr(raw, "_conn", None)  # the sqlite3 connection aiosqlite drives
        if sync is not None:
            # A few indexed rows take tens of microseconds, less than the round trip to
            # aiosqlite's thread and back (most of the loader's time on SQLite). The session
            # awaits one statement at a time, so that thread is idle meanwhile; WAL readers
            # never wait for writers.
            return sync.execute(sql, args).fetchall()
        return await raw.execute_fetchall(sql, args)
    async with raw.cursor() as cursor:
        await cursor.execute(sql, values, prepare=True)
        return await cursor.fetchall()


def _utc(value: Any) -> datetime | None:
    if value is None:
        return None
    return as_utc(datetime.fromisoformat(value) if isinstance(value, str) else value)


async def _facts(
    session: AsyncSession, charger_id: str, rows: Any, at: datetime, *, token_uid: str | None
) -> DecisionFacts | None:
    if not rows:
        return None
    first = rows[0]
    (access_mode, owner, ttl, plan_id, plan_version, uid, t_blocked, t_expires) = first[:8]
    user_id, u_blocked, parent_tag, unfinished = first[8:12]
    user = None if user_id is None else UserFacts(user_id, bool(u_blocked), parent_tag)
    token = None
    if uid is not None and user_id is not None:
        token = TokenFacts(uid, user_id, bool(t_blocked), _utc(t_expires))
    groups: list[GroupFacts] = []
    scope: set[str] = set()
    for row in rows:
        group_id = row[12]
        if group_id is None:
            continue
        percent, free = row[16], row[17]
        discount = None
        if percent is not None or free:
            discount = _discount(None if percent is None else Decimal(str(percent)), bool(free))
        if row[21] is not None:
            scope.add(group_id)
        groups.append(
            GroupFacts(
                group_id,
                row[13],
                row[14] == SCOPE_ACCOUNT,
                _utc(row[15]),  # type: ignore[arg-type]  # never None: created_at is NOT NULL
                discount,
                row[18],
                row[19],
                _utc(row[20]),
            )
        )
    groups.sort(key=group_order_key)
    plan = NO_RATE_PLAN
    if plan_id is not None:
        plan = await _plan_ref(session, plan_id, plan_version)
    # Only the user's groups are ever looked up in the scope, so only those are loaded.
    charger = ChargerFacts(charger_id, access_mode, owner, frozenset(scope), plan)
    return DecisionFacts(
        token=token,
        user=user,
        charger=charger,
        groups=tuple(groups),
        has_unfinished_transaction=bool(unfinished),
        at=at,
        cache_ttl_seconds=ttl,
        token_uid=token_uid if token is None else token.uid,
    )


def _discount(percent: Decimal | None, free: bool) -> Discount:
    key = (percent, free)
    found = _DISCOUNTS.get(key)
    if found is None:
        if len(_DISCOUNTS) > 4096:
            _DISCOUNTS.clear()
        found = _DISCOUNTS[key] = (
            Discount.free() if free else Discount.percent(Decimal(percent or 0))
        )
    return found


async def _plan_ref(session: AsyncSession, plan_id: str, version: int) -> RatePlanRef:
    key = (plan_id, version)
    found = _SUMMARIES.get(key)
    if found is None:
        terms = terms_from_dict(await rate_plans.version_terms(session, plan_id, version))
        if len(_SUMMARIES) > 4096:
            _SUMMARIES.clear()
        found = _SUMMARIES[key] = RatePlanRef(plan_id, version, summary(terms))
    return found
