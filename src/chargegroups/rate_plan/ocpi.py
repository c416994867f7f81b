"""Export a rate plan version as an OCPI 2.2.1 Tariff object (module Tariffs, section 11).

Mapping and its limits (OCPI cannot say everything a rate plan says):

* ``ENERGY`` is per kWh, ``step_size`` 1 (Wh). A fixed plan's time-of-day prices become one
  element each, restricted by ``start_time``/``end_time``/``day_of_week``, listed before the
  element with the base price, because OCPI uses, per dimension, the first element whose
  restrictions match. A window running past midnight on named days is split in two elements
  (``start``-``00:00`` on those days, ``00:00``-``end`` on the following days) since OCPI checks
  ``day_of_week`` against the current day.
* Cost-plus plans export the plan's own energy cost plus the margin as one ``ENERGY`` price; a
  site's own energy cost cannot be expressed and the alternative text says it varies.
* ``FLAT`` is the connection fee; ``TIME`` the time fee per hour, ``step_size`` 1 (second),
  matching the exact charging-time rule.
* ``PARKING_TIME`` is the idle fee, priced per hour (per minute x 60) with ``step_size`` 60,
  i.e. billed per started minute. An idle schedule becomes ``PARKING_TIME`` elements restricted
  to its windows. OCPI 2.2.1 has no restriction on *parking* duration (``min_duration`` counts
  the whole session), so the grace period cannot be encoded in the elements; it is stated in
  ``tariff_alt_text`` instead.
* Prices are JSON numbers with at most 4 decimals (OCPI ``number``), rounded half-even. The
  dict holds :class:`~decimal.Decimal` values; :func:`dumps` writes them as JSON numbers.
* ``vat`` on each price component is the plan's VAT percentage.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Final

from chargegroups.rate_plan.rules import (
    DAYS_OF_WEEK,
    CostPlus,
    Fixed,
    RatePlanTerms,
    ScheduleWindow,
    summary,
)

__all__ = ["dumps", "to_ocpi_tariff"]

_FOUR: Final = Decimal("0.0001")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_PARTY = re.compile(r"^[A-Z0-9]{3}$")


def _num(value: Decimal) -> Decimal:
    return value.quantize(_FOUR, rounding=ROUND_HALF_EVEN).normalize() + 0


def _component(kind: str, price: Decimal, vat: Decimal, step: int) -> dict[str, Any]:
    return {"type": kind, "price": _num(price), "vat": _num(vat), "step_size": step}


def _restrictions(w: ScheduleWindow) -> list[dict[str, Any]]:
    """OCPI restrictions for a window; two when it runs past midnight on named days."""
    days = list(dict.fromkeys(w.days_of_week))
    if w.start == w.end:
        # 24 hours from start; exact when start is 00:00 (the usual case)
        return [{"day_of_week": days}] if days else [{}]
    if w.end > w.start or not days:
        out: dict[str, Any] = {"start_time": w.start, "end_time": w.end}
        if days:
            out["day_of_week"] = days
        return [out]
    following = [DAYS_OF_WEEK[(DAYS_OF_WEEK.index(d) + 1) % 7] for d in days]
    first: dict[str, Any] = {"start_time": w.start, "end_time": "00:00", "day_of_week": days}
    parts = [first]
    if w.end != "00:00":
        parts.append({"start_time": "00:00", "end_time": w.end, "day_of_week": following})
    return parts


def to_ocpi_tariff(
    terms: RatePlanTerms,
    *,
    tariff_id: str,
    country_code: str,
    party_id: str,
    last_updated: datetime,
    version: int,
) -> dict[str, Any]:
    """The OCPI 2.2.1 ``Tariff`` for one rate plan version (see the module docstring)."""
    if not _COUNTRY.match(country_code):
        raise ValueError("country_code is two upper-case letters (ISO 3166-1 alpha-2)")
    if not _PARTY.match(party_id):
        raise ValueError("party_id is three upper-case letters or digits (ISO 15118)")
    if not 0 < len(tariff_id) <= 36:
        raise ValueError("an OCPI tariff id has 1 to 36 characters")
    vat = terms.vat_percent
    elements: list[dict[str, Any]] = []
    notes = [f"Rate plan version {version}: {summary(terms)}, excl. {_plain(vat)} % VAT."]

    energy = terms.energy
    if isinstance(energy, Fixed):
        base_energy = energy.price_per_kwh
        for tod in energy.time_of_day:
            component = _component("ENERGY", tod.price_per_kwh, vat, 1)
            for r in _restrictions(tod.window):
                element: dict[str, Any] = {"price_components": [component]}
                if r:
                    element["restrictions"] = r
                elements.append(element)
    elif isinstance(energy, CostPlus):
        base_energy = energy.cost_per_kwh + energy.delta_per_kwh
        notes.append("The energy cost part follows the site's energy cost and may vary.")
    else:
        base_energy = energy.cost_per_kwh * (1 + energy.percent / 100)
        notes.append("The energy cost part follows the site's energy cost and may vary.")

    base = [_component("ENERGY", base_energy, vat, 1)]
    if terms.connection_fee is not None:
        base.append(_component("FLAT", terms.connection_fee, vat, 1))
    if terms.time_fee_per_hour is not None:
        base.append(_component("TIME", terms.time_fee_per_hour, vat, 1))
    idle = terms.idle_fee
    if idle is not None:
        parking = _component("PARKING_TIME", idle.per_minute * 60, vat, 60)
        if idle.schedule is None:
            base.append(parking)
        else:
            for w in idle.schedule:
                for r in _restrictions(w):
                    element = {"price_components": [parking]}
                    if r:
                        element["restrictions"] = r
                    elements.append(element)
        if idle.grace_minutes:
            notes.append(
                f"Idle fee per started minute after {idle.grace_minutes} minutes' grace "
                "once charging has ended."
            )
    elements.append({"price_components": base})

    stamp = last_updated.astimezone(UTC).replace(microsecond=0)
    return {
        "country_code": country_code,
        "party_id": party_id,
        "id": tariff_id,
        "currency": terms.currency,
        "type": "REGULAR",
        "tariff_alt_text": [{"language": "en", "text": " ".join(notes)}],
        "elements": elements,
        "last_updated": stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _plain(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        # At most 4 decimals (see _num): the float's shortest repr prints the same digits.
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(tariff: dict[str, Any]) -> str:
    """The tariff as JSON text, prices as JSON numbers."""
    return json.dumps(tariff, default=_default)
