"""The decision: may this driver charge here, at what discount, and who pays (D1-D9).

Pure and synchronous: a loader fills :class:`DecisionFacts` (token, user, charger, the user's
groups with their discount on the charger's rate plan) and :func:`decide` answers. This is the
hot path of every OCPP ``Authorize``: no I/O, no validation library, one pass over the groups
to choose. The trace is not written then: :attr:`Decision.trace` derives it from the facts and
the groups chosen when it is read (the API, the console and the CLI read it; ``Authorize`` never
does).

Order of checks (first failing check answers):

1. D1 token unknown, token blocked, token expired, user blocked, charger closed;
2. D3 the token is already in an unfinished transaction;
3. D2 a public charger accepts any valid driver; a private one needs a current membership
   (D5: ``membership_valid_until`` strictly after ``at``, or none) of a group in its scope.

Then D6 picks the discount, the deciding group, and D7 the payer. Tie order for groups
(:func:`group_order_key`): account-level before global, then oldest ``created_at``, then the
smaller id (only so the answer never depends on the order the loader listed the groups).

Trace vocabulary (one :class:`TraceEntry` per group the user is a member of, in the order
given). ``applies`` is true when the group takes part in this accepted decision; ``roles`` then
says how, with any of:

* ``grants_access`` - a current group in the scope of this private charger;
* ``discount`` - its discount is the one applied (D6 winner);
* ``deciding`` - it is the decision's deciding group;
* ``pays`` - its financial owner pays (D7).

``why`` is ``"applies"`` for those, otherwise the first of these that holds:

* ``membership_expired`` - the membership's ``valid_until`` is at or before ``at`` (G12);
  such a group never grants, decides or pays;
* ``not_in_charger_scope`` - on a private charger: the group is not in the charger's scope,
  and (on an accepted decision) it has nothing else to give here;
* ``decision_refused`` - the decision was refused for a reason that is not about this group
  (token, user, closed charger, concurrent transaction); see ``reason``;
* ``discount_outranked`` - it has a discount on this rate plan but another group's is more
  favourable (or equal and earlier in tie order);
* ``payer_outranked`` - its financial owner would cover this charger but another group's pays;
* ``financial_owner_not_covering`` - its financial owner pays only at chargers in the group's
  scope (``pays_at = scoped_chargers``) and this charger's scope does not hold the group;
* ``no_discount_on_rate_plan`` - nothing else: no discount on this rate plan, no covering
  financial owner, and no access role.

On a refused decision ``applies`` is false for every group and ``roles`` is empty, while
``why`` still tells the group's own state (expired, out of scope) so the console can answer
"why can't this driver charge here?".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal, NamedTuple, TypeAlias

from chargegroups.rate_plan.rules import Discount

__all__ = [
    "AccessMode",
    "ChargerFacts",
    "Decision",
    "DecisionFacts",
    "GroupFacts",
    "PayerRef",
    "PaysAt",
    "RatePlanRef",
    "Reason",
    "TokenFacts",
    "TraceBasis",
    "TraceEntry",
    "UserFacts",
    "decide",
    "decision_to_dict",
    "explain",
    "group_order_key",
]

AccessMode: TypeAlias = Literal["public", "private", "closed"]
PaysAt: TypeAlias = Literal["all_chargers", "scoped_chargers"]
Reason: TypeAlias = Literal[
    "token_unknown",
    "token_blocked",
    "token_expired",
    "user_blocked",
    "charger_closed",
    "not_in_scope",
    "concurrent_transaction",
    "accepted_public",
    "accepted_via_group",
]
Why: TypeAlias = Literal[
    "applies",
    "membership_expired",
    "not_in_charger_scope",
    "decision_refused",
    "discount_outranked",
    "payer_outranked",
    "financial_owner_not_covering",
    "no_discount_on_rate_plan",
]
Role: TypeAlias = Literal["grants_access", "discount", "deciding", "pays"]

DEFAULT_CACHE_TTL_SECONDS: Final = 900


# --------------------------------------------------------------------------- inputs
# Inputs are NamedTuples, as the outputs below are: the loader builds them on every decision
# (one GroupFacts per membership), and a frozen dataclass costs about three times as much to
# build. DecisionFacts, one per decision and with a docstring of its own, stays a dataclass.


class TokenFacts(NamedTuple):
    uid: str
    user_id: str
    blocked: bool = False
    expires_at: datetime | None = None


class UserFacts(NamedTuple):
    id: str
    blocked: bool
    parent_id_tag: str  # the user's own OCPP parent id tag (D8), shared by all its tokens
    account_id: str | None = None  # the user's account: who may ask about it (R3), not a rule


class RatePlanRef(NamedTuple):
    id: str
    version: int
    summary: str


class ChargerFacts(NamedTuple):
    id: str
    access_mode: AccessMode
    owning_account_id: str | None
    scope_group_ids: frozenset[str]
    rate_plan: RatePlanRef  # already resolved by D4 (override, account default, operator)


class GroupFacts(NamedTuple):
    """One group the user is a member of, seen from one charger's rate plan."""

    id: str
    name: str
    is_account_level: bool
    created_at: datetime
    discount: Discount | None  # this group's discount on the charger's rate plan (G9)
    financial_owner_id: str | None
    pays_at: PaysAt
    membership_valid_until: datetime | None


@dataclass(frozen=True, slots=True)
class DecisionFacts:
    """Everything :func:`decide` needs.

    ``token`` is None for an unknown token (``token_uid`` is then the uid presented). A
    decision for a user rather than a token (the console's "may this driver charge here?")
    passes ``token=None, token_uid=None`` and the ``user``.

    ``at`` is the instant decided about; ``answered_at``, when later (a charger reporting a
    transaction's start late), is when the answer is given: the cache lifetime (D8) counts from
    then, so a late start's answer is not born expired.
    """

    token: TokenFacts | None
    user: UserFacts | None
    charger: ChargerFacts
    groups: tuple[GroupFacts, ...]
    has_unfinished_transaction: bool
    at: datetime
    cache_ttl_seconds: int = DEFAULT_CACHE_TTL_SECONDS
    token_uid: str | None = None
    answered_at: datetime | None = None


# --------------------------------------------------------------------------- outputs
# Outputs are NamedTuples, not frozen dataclasses: equally immutable and typed, but built
# about three times faster (a frozen dataclass sets each field through object.__setattr__),
# which matters on this path. A decision's ``trace`` follows from its ``basis``, so a decision
# is never edited (no ``_replace``).


class PayerRef(NamedTuple):
    kind: Literal["financial_owner", "driver"]
    user_id: str
    group_id: str | None = None


class TraceEntry(NamedTuple):
    group_id: str
    applies: bool
    why: Why
    roles: tuple[Role, ...] = ()
    group_name: str = ""


class TraceBasis(NamedTuple):
    """What a decision's trace is derived from: its facts and the groups it chose."""

    facts: DecisionFacts
    refused_why: Why | None  # a refused decision's ``why`` for groups with nothing else to say
    best: GroupFacts | None  # the D6 winner
    deciding: GroupFacts | None
    payer_group: GroupFacts | None


class Decision(NamedTuple):
    allowed: bool
    status: str  # OCPP-neutral: the OCPP 2.0.1 vocabulary, the richer of the two
    ocpp16_status: str  # Accepted | Blocked | Expired | Invalid | ConcurrentTx
    ocpp201_status: str  # Accepted | Blocked | Expired | Invalid | NotAtThisLocation | ...
    reason: Reason
    user_id: str | None
    token_uid: str | None
    charger_id: str
    deciding_group_id: str | None
    discount: Discount | None
    payer: PayerRef | None
    rate_plan: RatePlanRef
    parent_id_tag: str | None  # the user's own (D8); None when refused
    cache_expires_at: datetime | None  # None when refused
    basis: TraceBasis

    @property
    def trace(self) -> tuple[TraceEntry, ...]:
        """One entry per group, in the order of the facts (D9; the module docstring).

        Derived from ``basis`` each time it is read, so that deciding never pays for it: read it
        once and keep it.
        """
        b = self.basis
        if b.refused_why is not None:
            return _refused_trace(b.facts, b.refused_why)
        return _accepted_trace(b.facts, b.best, b.deciding, b.payer_group)


# reason -> (status, ocpp16_status, ocpp201_status)
_STATUSES: Final[dict[str, tuple[str, str, str]]] = {
    "token_unknown": ("Invalid", "Invalid", "Invalid"),
    "token_blocked": ("Blocked", "Blocked", "Blocked"),
    "token_expired": ("Expired", "Expired", "Expired"),
    "user_blocked": ("Blocked", "Blocked", "Blocked"),
    "charger_closed": ("NotAtThisLocation", "Blocked", "NotAtThisLocation"),
    "not_in_scope": ("NotAtThisLocation", "Invalid", "NotAtThisLocation"),
    "concurrent_transaction": ("ConcurrentTx", "ConcurrentTx", "ConcurrentTx"),
    "accepted_public": ("Accepted", "Accepted", "Accepted"),
    "accepted_via_group": ("Accepted", "Accepted", "Accepted"),
}

# A group's roles as bits, in the order the trace lists them, and every combination built once.
_GRANTS, _DISCOUNT, _DECIDING, _PAYS = 1, 2, 4, 8
_ROLE_BITS: Final[tuple[tuple[Role, int], ...]] = (
    ("grants_access", _GRANTS),
    ("discount", _DISCOUNT),
    ("deciding", _DECIDING),
    ("pays", _PAYS),
)
_ROLES: Final[tuple[tuple[Role, ...], ...]] = tuple(
    tuple(role for role, bit in _ROLE_BITS if mask & bit) for mask in range(16)
)

# Outputs (and trace entries) are built with tuple.__new__ directly: a NamedTuple's own __new__
# is a Python function, one more frame for each.
_new = tuple.__new__

_TTLS: dict[int, timedelta] = {}  # a handful of configured TTLs; avoids a timedelta per call


def group_order_key(g: GroupFacts) -> tuple[bool, datetime, str]:
    """D6/D7 tie order: account-level first, then oldest, then id (determinism only)."""
    return (not g.is_account_level, g.created_at, g.id)


def _before(a: GroupFacts, b: GroupFacts) -> bool:
    """``a`` comes before ``b`` in tie order (inlined comparison; no tuples on the hot path)."""
    if a.is_account_level is not b.is_account_level:
        return a.is_account_level
    if a.created_at != b.created_at:
        return a.created_at < b.created_at
    return a.id < b.id


# --------------------------------------------------------------------------- decide


def decide(facts: DecisionFacts) -> Decision:
    """Apply D1-D8 to ``facts``; see the module docstring for the order and the trace."""
    at = facts.at
    token = facts.token
    user = facts.user
    charger = facts.charger
    token_uid = token.uid if token is not None else facts.token_uid

    # D1, then D3
    reason: Reason | None = None
    if token is None and (token_uid is not None or user is None):
        reason = "token_unknown"
    elif token is not None and token.blocked:
        reason = "token_blocked"
    elif token is not None and token.expires_at is not None and token.expires_at <= at:
        reason = "token_expired"
    elif user is None:
        reason = "token_unknown"
    elif user.blocked:
        reason = "user_blocked"
    elif charger.access_mode == "closed":
        reason = "charger_closed"
    elif facts.has_unfinished_transaction:
        reason = "concurrent_transaction"
    user_id = user.id if user is not None else (token.user_id if token is not None else None)
    if reason is not None:
        return _refused(facts, reason, user_id, token_uid, "decision_refused")
    assert user is not None  # narrowed by the checks above

    scope = charger.scope_group_ids
    private = charger.access_mode == "private"
    if private and not scope:  # nothing can grant access: skip the pass below
        return _refused(facts, "not_in_scope", user.id, token_uid, "not_in_charger_scope")

    # D5-D7: one pass over the user's groups.
    best: GroupFacts | None = None  # D6 winner
    best_strength = 0
    access: GroupFacts | None = None  # first access-granting group in tie order
    access_until: datetime | None = None  # latest valid_until among granting groups
    access_unbounded = False
    payer_group: GroupFacts | None = None  # first covering group in tie order
    for g in facts.groups:
        until = g.membership_valid_until
        if until is not None and until <= at:
            continue
        in_scope = g.id in scope
        if private and in_scope:
            if access is None or _before(g, access):
                access = g
            if until is None:
                access_unbounded = True
            elif access_until is None or until > access_until:
                access_until = until
        d = g.discount
        if d is not None:
            s = d.strength  # always above 0: the first discount beats "none yet"
            if s > best_strength or (s == best_strength and best is not None and _before(g, best)):
                best = g
                best_strength = s
        if (
            g.financial_owner_id is not None
            and (in_scope or g.pays_at == "all_chargers")
            and (payer_group is None or _before(g, payer_group))
        ):
            payer_group = g

    if private and access is None:
        return _refused(facts, "not_in_scope", user.id, token_uid, "not_in_charger_scope")

    # D7: the D6 winner pays if it covers this charger, else the first covering group.
    if (
        best is not None
        and best.financial_owner_id is not None
        and (best.pays_at == "all_chargers" or best.id in scope)
    ):
        payer_group = best
    deciding = best if best is not None else access

    # D8: cache lifetime bounded by the TTL, the token and the memberships relied on.
    ttl = _TTLS.get(facts.cache_ttl_seconds)
    if ttl is None:
        if len(_TTLS) > 64:
            _TTLS.clear()
        ttl = _TTLS[facts.cache_ttl_seconds] = timedelta(seconds=facts.cache_ttl_seconds)
    expires = max(at, facts.answered_at or at) + ttl
    if token is not None and token.expires_at is not None and token.expires_at < expires:
        expires = token.expires_at
    if access is not None and not access_unbounded and access_until is not None:
        expires = min(expires, access_until)
    if deciding is not None and deciding.membership_valid_until is not None:
        expires = min(expires, deciding.membership_valid_until)
    if payer_group is not None and payer_group.membership_valid_until is not None:
        expires = min(expires, payer_group.membership_valid_until)

    if payer_group is not None:
        assert payer_group.financial_owner_id is not None
        payer = _new(PayerRef, ("financial_owner", payer_group.financial_owner_id, payer_group.id))
    else:
        payer = _new(PayerRef, ("driver", user.id, None))

    return _new(
        Decision,
        (
            True,
            "Accepted",
            "Accepted",
            "Accepted",
            "accepted_via_group" if private else "accepted_public",
            user.id,
            token_uid,
            charger.id,
            deciding.id if deciding is not None else None,
            best.discount if best is not None else None,
            payer,
            charger.rate_plan,
            user.parent_id_tag,
            expires,
            _new(TraceBasis, (facts, None, best, deciding, payer_group)),
        ),
    )


def _refused(
    facts: DecisionFacts,
    reason: Reason,
    user_id: str | None,
    token_uid: str | None,
    default_why: Why,
) -> Decision:
    status, s16, s201 = _STATUSES[reason]
    return _new(
        Decision,
        (
            False,
            status,
            s16,
            s201,
            reason,
            user_id,
            token_uid,
            facts.charger.id,
            None,
            None,
            None,
            facts.charger.rate_plan,
            None,
            None,
            _new(TraceBasis, (facts, default_why, None, None, None)),
        ),
    )


def _refused_trace(facts: DecisionFacts, default_why: Why) -> tuple[TraceEntry, ...]:
    at = facts.at
    scope = facts.charger.scope_group_ids
    private = facts.charger.access_mode == "private"
    trace = []
    for g in facts.groups:
        until = g.membership_valid_until
        why: Why
        if until is not None and until <= at:
            why = "membership_expired"
        elif private and g.id not in scope:
            why = "not_in_charger_scope"
        else:
            why = default_why
        trace.append(_new(TraceEntry, (g.id, False, why, (), g.name)))
    return tuple(trace)


def _accepted_trace(
    facts: DecisionFacts,
    best: GroupFacts | None,
    deciding: GroupFacts | None,
    payer_group: GroupFacts | None,
) -> tuple[TraceEntry, ...]:
    at = facts.at
    scope = facts.charger.scope_group_ids
    private = facts.charger.access_mode == "private"
    trace = []
    for g in facts.groups:
        until = g.membership_valid_until
        if until is not None and until <= at:
            trace.append(_new(TraceEntry, (g.id, False, "membership_expired", (), g.name)))
            continue
        in_scope = g.id in scope
        roles = _GRANTS if private and in_scope else 0
        if g is best:
            roles |= _DISCOUNT
        if g is deciding:
            roles |= _DECIDING
        if g is payer_group:
            roles |= _PAYS
        if roles:
            trace.append(_new(TraceEntry, (g.id, True, "applies", _ROLES[roles], g.name)))
            continue
        owner = g.financial_owner_id is not None
        why: Why
        if g.discount is not None:
            why = "discount_outranked"
        elif owner and (in_scope or g.pays_at == "all_chargers"):
            why = "payer_outranked"
        elif private and not in_scope:
            why = "not_in_charger_scope"
        elif owner:
            why = "financial_owner_not_covering"
        else:
            why = "no_discount_on_rate_plan"
        trace.append(_new(TraceEntry, (g.id, False, why, (), g.name)))
    return tuple(trace)


# --------------------------------------------------------------------------- presenting


def decision_to_dict(
    decision: Decision, trace: tuple[TraceEntry, ...] | None = None
) -> dict[str, Any]:
    """The API's JSON shape of a decision (``API.md``, "The decision"); ``trace`` if the
    caller already read it (it is derived on each read)."""
    d = decision
    trace = d.trace if trace is None else trace
    return {
        "allowed": d.allowed,
        "status": d.status,
        "ocpp16_status": d.ocpp16_status,
        "ocpp201_status": d.ocpp201_status,
        "reason": d.reason,
        "user_id": d.user_id,
        "token_uid": d.token_uid,
        "charger_id": d.charger_id,
        "deciding_group_id": d.deciding_group_id,
        "discount": d.discount.to_dict() if d.discount is not None else None,
        "payer": (
            {"kind": d.payer.kind, "user_id": d.payer.user_id, "group_id": d.payer.group_id}
            if d.payer is not None
            else None
        ),
        "rate_plan": {
            "id": d.rate_plan.id,
            "version": d.rate_plan.version,
            "summary": d.rate_plan.summary,
        },
        "trace": [
            {
                "group_id": t.group_id,
                "group_name": t.group_name,
                "applies": t.applies,
                "why": t.why,
                "roles": list(t.roles),
            }
            for t in trace
        ],
        "parent_id_tag": d.parent_id_tag,
        "cache_expires_at": (
            d.cache_expires_at.isoformat() if d.cache_expires_at is not None else None
        ),
    }


_REASON_TEXT: Final[dict[str, str]] = {
    "token_unknown": "Refused: the token is not known on this network.",
    "token_blocked": "Refused: the token is blocked.",
    "token_expired": "Refused: the token has expired.",
    "user_blocked": "Refused: the driver's account is blocked.",
    "charger_closed": "Refused: the charger is closed (maintenance); nobody may charge here.",
    "not_in_scope": (
        "Refused: this is a private charger and none of the driver's current groups is in "
        "its charger scope."
    ),
    "concurrent_transaction": "Refused: this token is already in an unfinished session.",
    "accepted_public": "Allowed: this is a public charger, open to any valid driver.",
    "accepted_via_group": "Allowed: a current group of the driver is in this private "
    "charger's scope.",
}

_WHY_TEXT: Final[dict[str, str]] = {
    "membership_expired": "the membership has expired",
    "not_in_charger_scope": "the group is not in this charger's scope",
    "decision_refused": "the decision was refused before groups were considered",
    "discount_outranked": "another group's discount is more favourable",
    "payer_outranked": "another group's financial owner pays",
    "financial_owner_not_covering": (
        "its financial owner pays only at chargers whose scope holds the group"
    ),
    "no_discount_on_rate_plan": "it has no discount on this rate plan and nobody pays for it",
}

_ROLE_TEXT: Final[dict[str, str]] = {
    "grants_access": "gives access",
    "discount": "gives the discount",
    "deciding": "is the deciding group",
    "pays": "pays",
}


def explain(decision: Decision, trace: tuple[TraceEntry, ...] | None = None) -> list[str]:
    """Plain-English sentences for the console and the CLI (D9); ``trace`` as for
    :func:`decision_to_dict`."""
    d = decision
    trace = d.trace if trace is None else trace
    names = {t.group_id: t.group_name or t.group_id for t in trace}
    lines = [_REASON_TEXT[d.reason]]
    if d.allowed:
        lines.append(f"Rate plan: {d.rate_plan.summary} (version {d.rate_plan.version}).")
        if d.discount is not None and d.deciding_group_id is not None:
            lines.append(
                f"Discount: {d.discount.label()} through group "
                f"\u201c{names.get(d.deciding_group_id, d.deciding_group_id)}\u201d, the most "
                "favourable of the driver's groups."
            )
        else:
            lines.append("No group discount applies; the rate plan's prices apply.")
        if d.payer is not None and d.payer.kind == "financial_owner" and d.payer.group_id:
            group = names.get(d.payer.group_id, d.payer.group_id)
            lines.append(f"Paid by group \u201c{group}\u201d (its financial owner).")
        else:
            lines.append("The driver pays.")
    for t in trace:
        name = t.group_name or t.group_id
        if t.applies:
            roles = ", ".join(_ROLE_TEXT[r] for r in t.roles)
            lines.append(f"Group \u201c{name}\u201d applies here: it {roles}.")
        else:
            lines.append(f"Group \u201c{name}\u201d does not apply: {_WHY_TEXT[t.why]}.")
    if not trace:
        lines.append("The driver is in no group.")
    return lines
