"""Fetch exactly the facts :func:`chargegroups.decision.rules.decide` needs, in one round trip.

One statement starts at the charger (its access mode, owner, the operator's cache TTL and the
rate plan D4 resolves), joins the token and its user (or the user alone), whether that token is
in an unfinished session (D3), and the user's memberships with their groups, each group's
discount on the resolved plan (G9) and whether the charger's scope holds it. It returns one row
per membership (at least one); asked for a page of chargers at once (a driver's "where may I
charge?"), the same rows for each of them. Only the human summary of the plan's terms is read
separately, once per (plan, version): versions never change, so that cache is always right.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    bindparam,
    cast,
    func,
    null,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from chargegroups.database import Reads, fetch_rows
from chargegroups.decision.rules import (
    ChargerFacts,
    DecisionFacts,
    GroupFacts,
    RatePlanRef,
    TokenFacts,
    UserFacts,
    group_order_key,
)
from chargegroups.kit.clock import from_database
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
from chargegroups.session.rules import outlived

__all__ = [
    "NO_RATE_PLAN",
    "ChargerKey",
    "load_for_token",
    "load_for_user",
    "load_for_user_at_chargers",
    "normalize_token_uid",
]

#: Stands in for the plan when D4 finds none (no override, no account or operator default):
#: the decision still answers, and the API shows ``rate_plan: null``.
NO_RATE_PLAN: Final = RatePlanRef(id="", version=0, summary="no rate plan")

_SUMMARIES: dict[tuple[str, int], RatePlanRef] = {}
_DISCOUNTS: dict[tuple[str | None, Any], Discount] = {}


def normalize_token_uid(uid: str) -> str:
    """Token uids are unique per operator, compared case-insensitively (API.md, Tokens)."""
    return uid.lower()


def _statement(*, by_token: bool, which_charger: ColumnElement[bool]) -> Select[Any]:
    if by_token:
        token_cols: tuple[Any, ...] = (DriverToken.uid, DriverToken.blocked, DriverToken.expires_at)
        # The latest start of the token's unfinished sessions: one younger than the operator's
        # maximum duration means it is charging now (D3, session.rules.outlived).
        unfinished: Any = (
            select(func.max(ChargingSession.started_at))
            .where(
                ChargingSession.user_id == User.id,
                ChargingSession.status == "active",
                func.lower(ChargingSession.token_uid) == DriverToken.uid_normalized,
            )
            .scalar_subquery()
        )
    else:
        token_cols = (null(), null(), null())
        unfinished = null()
    stmt = rate_plans.charger_plan_from(
        select(
            Charger.id,
            Charger.access_mode,
            Charger.account_id,
            Operator.auth_cache_ttl_seconds,
            RatePlan.id,
            RatePlan.current_version,
            *token_cols,
            User.id,
            User.blocked,
            User.parent_id_tag,
            User.account_id,
            unfinished,
            UserGroup.id,
            UserGroup.name,
            UserGroup.scope_kind,
            UserGroup.created_at,
            cast(GroupDiscount.percent, String),  # text: a cheap key for _discount
            GroupDiscount.free,
            UserGroup.financial_owner_id,
            UserGroup.pays_at,
            GroupMembership.valid_until,
            ChargerScope.group_id,
            Operator.max_session_hours,
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
        .where(Charger.operator_id == bindparam("operator_id"), which_charger)
    )


_BY_ID: Final = Charger.id == bindparam("charger")
_BY_CHARGE_POINT_ID: Final = Charger.charge_point_id == bindparam("charger")

# Keyed by (by token, by charge point id): one statement per way of asking, built once.
_STATEMENTS: Final = {
    (by_token, by_cp): _statement(
        by_token=by_token, which_charger=_BY_CHARGE_POINT_ID if by_cp else _BY_ID
    )
    for by_token in (True, False)
    for by_cp in (True, False)
}
# A user at many chargers at once (a page of "where may I charge?").
_USER_AT_CHARGERS: Final = _statement(
    by_token=False, which_charger=Charger.id.in_(bindparam("chargers", expanding=True))
)


@dataclass(frozen=True, slots=True)
class ChargerKey:
    """A charger as a caller names it: by our id or by its OCPP charge point id, always
    inside one operator (an id from another operator finds nothing)."""

    operator_id: str
    charger_id: str | None = None
    charge_point_id: str | None = None

    def params(self) -> dict[str, Any]:
        return {
            "operator_id": self.operator_id,
            "charger": self.charger_id if self.charger_id is not None else self.charge_point_id,
        }

    @property
    def by_charge_point_id(self) -> bool:
        return self.charger_id is None


async def load_for_token(
    db: Reads,
    *,
    charger: ChargerKey,
    token_uid: str,
    at: datetime,
    answered_at: datetime | None = None,
) -> DecisionFacts | None:
    """The facts for ``token_uid`` presented at the charger; None if there is no such charger."""
    stmt = _STATEMENTS[True, charger.by_charge_point_id]
    rows = await fetch_rows(db, stmt, {**charger.params(), "uid": normalize_token_uid(token_uid)})
    return await _facts(db, rows, at, token_uid=token_uid, answered_at=answered_at)


async def load_for_user(
    db: Reads, *, charger: ChargerKey, user_id: str, at: datetime
) -> DecisionFacts | None:
    """The facts for the user without a token (the console's "may this driver charge here?");
    no token means no unfinished-transaction check (D3 is about a token)."""
    stmt = _STATEMENTS[False, charger.by_charge_point_id]
    rows = await fetch_rows(db, stmt, {**charger.params(), "user_id": user_id})
    return await _facts(db, rows, at, token_uid=None)


async def load_for_user_at_chargers(
    session: AsyncSession,
    *,
    operator_id: str,
    charger_ids: Sequence[str],
    user_id: str,
    at: datetime,
) -> dict[str, DecisionFacts]:
    """:func:`load_for_user` at each of these chargers of one operator, in one round trip; a
    charger not found has no entry."""
    if not charger_ids:
        return {}
    params = {"operator_id": operator_id, "chargers": list(charger_ids), "user_id": user_id}
    by_charger: dict[str, list[Any]] = {}
    for row in (await session.execute(_USER_AT_CHARGERS, params)).all():
        by_charger.setdefault(row[0], []).append(row)
    found = {}
    for charger_id, rows in by_charger.items():
        facts = await _facts(session, rows, at, token_uid=None)
        assert facts is not None  # rows were found
        found[charger_id] = facts
    return found


async def _facts(
    db: Reads,
    rows: Any,
    at: datetime,
    *,
    token_uid: str | None,
    answered_at: datetime | None = None,
) -> DecisionFacts | None:
    if not rows:
        return None
    first = rows[0]
    (charger_id, access_mode, owner, ttl, plan_id, plan_version, uid, t_blocked, t_expires) = first[
        :9
    ]
    user_id, u_blocked, parent_tag, user_account_id, unfinished = first[9:14]
    latest_unfinished_start = from_database(unfinished)
    max_session_hours = first[24]
    user = None
    if user_id is not None:
        user = UserFacts(user_id, bool(u_blocked), parent_tag, user_account_id)
    token = None
    if uid is not None and user_id is not None:
        token = TokenFacts(uid, user_id, bool(t_blocked), from_database(t_expires))
    groups: list[GroupFacts] = []
    scope: set[str] = set()
    for row in rows:
        group_id = row[14]
        if group_id is None:
            continue
        percent, free = row[18], row[19]
        discount = None if percent is None and not free else _discount(percent, free)
        if row[23] is not None:
            scope.add(group_id)
        groups.append(
            GroupFacts(
                group_id,
                row[15],
                row[16] == SCOPE_ACCOUNT,
                from_database(row[17]),  # type: ignore[arg-type]  # never None: created_at is NOT NULL
                discount,
                row[20],
                row[21],
                from_database(row[22]),
            )
        )
    groups.sort(key=group_order_key)
    plan = NO_RATE_PLAN
    if plan_id is not None:
        plan = await _plan_ref(db, plan_id, plan_version)
    # Only the user's groups are ever looked up in the scope, so only those are loaded.
    charger = ChargerFacts(charger_id, access_mode, owner, frozenset(scope), plan)
    return DecisionFacts(
        token=token,
        user=user,
        charger=charger,
        groups=tuple(groups),
        has_unfinished_transaction=latest_unfinished_start is not None
        and not outlived(latest_unfinished_start, at, max_session_hours),
        at=at,
        cache_ttl_seconds=ttl,
        token_uid=token_uid if token is None else token.uid,
        answered_at=answered_at,
    )


def _discount(percent: str | None, free: Any) -> Discount:
    """The discount of a row's ``percent`` (as text) and ``free`` (a boolean, or SQLite's 0
    or 1), made once per distinct pair."""
    key = (percent, free)
    found = _DISCOUNTS.get(key)
    if found is None:
        if len(_DISCOUNTS) > 4096:
            _DISCOUNTS.clear()
        found = _DISCOUNTS[key] = (
            Discount.free() if free else Discount.percent(Decimal(percent or 0))
        )
    return found


async def _plan_ref(db: Reads, plan_id: str, version: int) -> RatePlanRef:
    key = (plan_id, version)
    found = _SUMMARIES.get(key)
    if found is None:
        terms = terms_from_dict(await rate_plans.version_terms(db, plan_id, version))
        if len(_SUMMARIES) > 4096:
            _SUMMARIES.clear()
        found = _SUMMARIES[key] = RatePlanRef(plan_id, version, summary(terms))
    return found
