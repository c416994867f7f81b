"""Rate plan terms and session pricing: pure, no I/O.

The dataclasses mirror the API's rate-plan shape (``API.md``, "Rate plans"). Pricing follows
PRODUCT.md rule P0:

* every line is quantity x unit price, rounded half-even to the currency's minor unit;
* on cost-plus rates energy is two lines: the energy cost and the margin;
* a percentage discount adds, for each discounted line, a line of minus (that line's rounded
  amount x percent), rounded the same way. It touches only the energy price: the energy line(s)
  on a fixed rate, only the margin line on ``cost_plus`` / ``cost_plus_percent``; never a fee;
* ``free`` adds a matching negative line for every line, so everything prices to zero;
* VAT is the sum of all lines x VAT rate, rounded once; the total is that sum plus VAT;
* charging time is exact (seconds / 3600); idle time counts started minutes after the grace
  period, and only inside the idle schedule when one is set.

Day/time windows (time-of-day prices and idle schedules) are in the site's local time. A window
``start``-``end`` on a listed day runs from ``start`` to ``end`` that day; when ``end`` is not
after ``start`` it runs past midnight into the next day (``22:00``-``06:00``), and ``start ==
end`` means 24 hours. ``days_of_week`` names the day the window *starts* on; empty means every
day. Where windows overlap the first listed one wins.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from itertools import pairwise
from typing import Any, Final, Literal, TypeAlias
from zoneinfo import ZoneInfo

from chargegroups.kit.money import format_price, minor_units, parse_amount, quantize

__all__ = [
    "DAYS_OF_WEEK",
    "CostPlus",
    "CostPlusPercent",
    "Discount",
    "Energy",
    "Fixed",
    "IdleFee",
    "Line",
    "LineKind",
    "PricedSession",
    "RatePlanTerms",
    "ScheduleWindow",
    "SessionMeasurements",
    "TimeOfDayPrice",
    "idle_minutes",
    "price_session",
    "priced_session_to_dict",
    "summary",
    "terms_from_dict",
    "terms_to_dict",
    "window_label",
]

DayOfWeek: TypeAlias = Literal[
    "MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"
]
#: Day names as in OCPI 2.2.1 ``DayOfWeek``; index 0 is Monday (``date.weekday()``).
DAYS_OF_WEEK: Final[tuple[DayOfWeek, ...]] = (
    "MONDAY",
    "TUESDAY",
    "WEDNESDAY",
    "THURSDAY",
    "FRIDAY",
    "SATURDAY",
    "SUNDAY",
)
_DAY_INDEX: Final[dict[str, int]] = {name: i for i, name in enumerate(DAYS_OF_WEEK)}
_HUNDRED: Final = Decimal(100)
_SECONDS_PER_HOUR: Final = Decimal(3600)


# --------------------------------------------------------------------------- terms


@dataclass(frozen=True, slots=True)
class ScheduleWindow:
    """A weekly window in local time (see the module docstring for its exact meaning)."""

    days_of_week: tuple[DayOfWeek, ...]
    start: str  # "HH:MM"
    end: str  # "HH:MM"


@dataclass(frozen=True, slots=True)
class TimeOfDayPrice:
    """A fixed energy price that applies inside a weekly window instead of the base price."""

    days_of_week: tuple[DayOfWeek, ...]
    start: str  # "HH:MM"
    end: str  # "HH:MM"
    price_per_kwh: Decimal

    @property
    def window(self) -> ScheduleWindow:
        return ScheduleWindow(self.days_of_week, self.start, self.end)


@dataclass(frozen=True, slots=True)
class Fixed:
    price_per_kwh: Decimal
    time_of_day: tuple[TimeOfDayPrice, ...] = ()
    kind: Literal["fixed"] = "fixed"


@dataclass(frozen=True, slots=True)
class CostPlus:
    """Energy cost per kWh (the plan's, or the charger site's override) plus a delta per kWh."""

    cost_per_kwh: Decimal
    delta_per_kwh: Decimal
    kind: Literal["cost_plus"] = "cost_plus"


@dataclass(frozen=True, slots=True)
class CostPlusPercent:
    """Energy cost per kWh plus a percentage of it (the margin)."""

    cost_per_kwh: Decimal
    percent: Decimal
    kind: Literal["cost_plus_percent"] = "cost_plus_percent"


Energy: TypeAlias = Fixed | CostPlus | CostPlusPercent


@dataclass(frozen=True, slots=True)
class IdleFee:
    """A fee per started minute idle after ``grace_minutes``, inside ``schedule`` if set."""

    per_minute: Decimal
    grace_minutes: int = 0
    schedule: tuple[ScheduleWindow, ...] | None = None


@dataclass(frozen=True, slots=True)
class RatePlanTerms:
    """The priced terms of one rate plan version (amounts exclude VAT)."""

    currency: str
    vat_percent: Decimal
    energy: Energy
    connection_fee: Decimal | None = None
    time_fee_per_hour: Decimal | None = None
    idle_fee: IdleFee | None = None


@dataclass(frozen=True, slots=True)
class Discount:
    """A group discount on a rate plan (G9): ``Discount.percent(p)`` or ``Discount.free()``.

    ``strength`` orders discounts for D6: ``free`` beats every percentage, a higher percentage
    beats a lower one. It is an integer (hundredths of a percent; ``free`` is 10001) so that the
    decision's hot path compares ints.
    """

    kind: Literal["percent", "free"]
    percentage: Decimal | None = None
    strength: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind == "free":
            if self.percentage is not None:
                raise ValueError("a free discount has no percentage")
            object.__setattr__(self, "strength", 10001)
            return
        p = self.percentage
        if self.kind != "percent" or p is None or not p.is_finite():
            raise ValueError("a percent discount needs a percentage")
        if not (0 < p <= _HUNDRED):
            raise ValueError("a discount percentage must be more than 0 and at most 100")
        hundredths = p * _HUNDRED
        if hundredths != hundredths.to_integral_value():
            raise ValueError("a discount percentage has at most two decimals")
        object.__setattr__(self, "strength", int(hundredths))

    @classmethod
    def percent(cls, value: Decimal) -> Discount:
        return cls("percent", value)

    @classmethod
    def free(cls) -> Discount:
        return cls("free")

    @property
    def is_free(self) -> bool:
        return self.kind == "free"

    def to_dict(self) -> dict[str, Any]:
        """``{"percent": "20"}`` or ``{"free": True}`` (the API shape)."""
        if self.percentage is None:
            return {"free": True}
        return {"percent": _plain(self.percentage)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Discount:
        if data.get("free") is True and "percent" not in data:
            return cls.free()
        if "percent" in data and not data.get("free"):
            return cls.percent(parse_amount(str(data["percent"]), max_decimals=2))
        raise ValueError('a discount is {"percent": "<p>"} or {"free": true}')

    def label(self) -> str:
        """``"free"`` or ``"20 %"``."""
        return "free" if self.percentage is None else f"{_plain(self.percentage)} %"


# --------------------------------------------------------------------------- measurements


@dataclass(frozen=True, slots=True)
class SessionMeasurements:
    """What a charger measured for one session.

    ``stopped_at`` is when charging ended (idle time starts there unless ``idle_started_at``
    says otherwise). ``timezone`` is the site's (or operator's) IANA zone, for day/time windows.
    """

    started_at: datetime
    stopped_at: datetime
    energy_kwh: Decimal
    charging_seconds: int
    idle_seconds: int = 0
    idle_started_at: datetime | None = None
    timezone: str = "UTC"


LineKind: TypeAlias = Literal[
    "energy", "energy_cost", "energy_margin", "connection_fee", "time_fee", "idle_fee", "discount"
]


@dataclass(frozen=True, slots=True)
class Line:
    """One priced line. Discount lines carry ``applies_to``: the kind of the line they reduce."""

    kind: LineKind
    description: str
    amount: Decimal
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    applies_to: LineKind | None = None


@dataclass(frozen=True, slots=True)
class PricedSession:
    lines: tuple[Line, ...]
    subtotal: Decimal
    vat: Decimal
    total: Decimal
    currency: str
    vat_percent: Decimal


# --------------------------------------------------------------------------- pricing


def price_session(
    terms: RatePlanTerms,
    discount: Discount | None,
    measurements: SessionMeasurements,
    energy_cost_per_kwh_override: Decimal | None = None,
) -> PricedSession:
    """Price one session under ``terms`` with the decision's ``discount`` (rule P0).

    ``energy_cost_per_kwh_override`` is the charger site's energy cost; it replaces the plan's
    ``cost_per_kwh`` on cost-plus rates and is ignored on fixed rates.
    """
    cur = terms.currency
    m = measurements
    kwh = m.energy_kwh
    lines: list[Line] = []
    # Lines a percentage discount reduces: the energy price on fixed, the margin on cost plus.
    discountable: list[Line] = []

    energy = terms.energy
    if isinstance(energy, Fixed):
        for qty, price, label in _fixed_energy_parts(energy, m):
            line = Line(
                "energy",
                f"Energy {_kwh(qty)} kWh x {format_price(price, cur)} {cur}/kWh{label}",
                quantize(qty * price, cur),
                qty,
                price,
            )
            lines.append(line)
            discountable.append(line)
    else:
        cost = (
            energy.cost_per_kwh
            if energy_cost_per_kwh_override is None
            else (energy_cost_per_kwh_override)
        )
        lines.append(
            Line(
                "energy_cost",
                f"Energy cost {_kwh(kwh)} kWh x {format_price(cost, cur)} {cur}/kWh",
                quantize(kwh * cost, cur),
                kwh,
                cost,
            )
        )
        if isinstance(energy, CostPlus):
            unit = energy.delta_per_kwh
            desc = f"Margin {_kwh(kwh)} kWh x {format_price(unit, cur)} {cur}/kWh"
            amount = quantize(kwh * unit, cur)
        else:
            unit = cost * energy.percent / _HUNDRED
            desc = f"Margin {_plain(energy.percent)} % of energy cost"
            amount = quantize(kwh * cost * energy.percent / _HUNDRED, cur)
        margin = Line("energy_margin", desc, amount, kwh, unit)
        lines.append(margin)
        discountable.append(margin)

    if terms.connection_fee is not None:
        fee = terms.connection_fee
        lines.append(
            Line(
                "connection_fee",
                f"Connection fee {format_price(fee, cur)} {cur}",
                quantize(fee, cur),
                Decimal(1),
                fee,
            )
        )
    if terms.time_fee_per_hour is not None:
        rate = terms.time_fee_per_hour
        hours = Decimal(m.charging_seconds) / _SECONDS_PER_HOUR
        lines.append(
            Line(
                "time_fee",
                f"Charging time {_duration(m.charging_seconds)} x "
                f"{format_price(rate, cur)} {cur}/h",
                quantize(Decimal(m.charging_seconds) * rate / _SECONDS_PER_HOUR, cur),
                hours,
                rate,
            )
        )
    if terms.idle_fee is not None:
        idle = terms.idle_fee
        minutes = idle_minutes(idle, m)
        lines.append(
            Line(
                "idle_fee",
                f"Idle {minutes} min x {format_price(idle.per_minute, cur)} {cur}/min "
                f"(after {idle.grace_minutes} min grace)",
                quantize(Decimal(minutes) * idle.per_minute, cur),
                Decimal(minutes),
                idle.per_minute,
            )
        )

    if discount is not None:
        if discount.percentage is None:
            reductions = [
                Line(
                    "discount",
                    f"Free: {line.description}",
                    _negate(line.amount),
                    applies_to=line.kind,
                )
                for line in lines
            ]
        else:
            pct = discount.percentage
            reductions = [
                Line(
                    "discount",
                    f"{discount.label()} discount on {_LINE_NAMES[line.kind]}",
                    _negate(quantize(line.amount * pct / _HUNDRED, cur)),
                    line.amount,
                    pct,
                    applies_to=line.kind,
                )
                for line in discountable
            ]
        lines.extend(reductions)

    zero = quantize(Decimal(0), cur)
    subtotal = sum((line.amount for line in lines), zero)
    vat = quantize(subtotal * terms.vat_percent / _HUNDRED, cur)
    return PricedSession(tuple(lines), subtotal, vat, subtotal + vat, cur, terms.vat_percent)


_LINE_NAMES: Final[dict[str, str]] = {
    "energy": "energy",
    "energy_cost": "energy cost",
    "energy_margin": "margin",
    "connection_fee": "connection fee",
    "time_fee": "charging time",
    "idle_fee": "idle time",
    "discount": "discount",
}


def _negate(amount: Decimal) -> Decimal:
    """Minus ``amount`` without producing a negative zero."""
    return -amount if amount else abs(amount)


def _plain(value: Decimal) -> str:
    """A decimal without exponent or trailing zeros: 20.00 -> "20", 12.50 -> "12.5"."""
    text = f"{value.normalize():f}"
    return text


def _kwh(value: Decimal) -> str:
    return _plain(value.quantize(Decimal("0.001")))


def _duration(seconds: int) -> str:
    h, rest = divmod(seconds, 3600)
    mins, secs = divmod(rest, 60)
    return f"{h}:{mins:02d}:{secs:02d}"


def idle_minutes(idle: IdleFee, m: SessionMeasurements) -> int:
    """Started minutes idle after the grace period, inside the schedule if one is set.

    The grace period runs in real time from the start of idling. After it, time is cut into
    minutes; every started minute counts, and with a schedule only those whose first instant
    lies inside a schedule window.
    """
    chargeable = m.idle_seconds - idle.grace_minutes * 60
    if chargeable <= 0:
        return 0
    started = math.ceil(chargeable / 60)
    if idle.schedule is None:
        return started
    if not idle.schedule:
        return 0
    zone = _zone(m.timezone)
    first = (m.idle_started_at or m.stopped_at) + timedelta(minutes=idle.grace_minutes)
    minute = timedelta(minutes=1)
    windows = [_compile(w) for w in idle.schedule]
    count = 0
    for k in range(started):
        local = (first + k * minute).astimezone(zone)
        if any(_contains(w, local) for w in windows):
            count += 1
    return count


def _fixed_energy_parts(
    energy: Fixed, m: SessionMeasurements
) -> list[tuple[Decimal, Decimal, str]]:
    """(kWh, price, label) per price in force while charging.

    Assumption (documented for statements): energy is taken to flow at a constant rate between
    ``started_at`` and ``stopped_at``, so each time-of-day window gets the share of the energy
    equal to its share of that interval. Each window (and the base price) is its own line; the
    last part takes the rounding remainder so the kWh add up exactly.
    """
    if not energy.time_of_day:
        return [(m.energy_kwh, energy.price_per_kwh, "")]
    zone = _zone(m.timezone)
    windows = [_compile(t.window) for t in energy.time_of_day]
    t0, t1 = m.started_at, m.stopped_at
    if t1 <= t0:
        index = _first_window(windows, t0.astimezone(zone))
        return [(m.energy_kwh, *_price_of(energy, index))]
    seconds: dict[int | None, Decimal] = {}
    for a, b in _pieces(windows, zone, t0, t1):
        index = _first_window(windows, (a + (b - a) / 2).astimezone(zone))
        seconds[index] = seconds.get(index, Decimal(0)) + _seconds(b - a)
    total = _seconds(t1 - t0)
    parts: list[tuple[Decimal, Decimal, str]] = []
    assigned = Decimal(0)
    items = list(seconds.items())
    for n, (index, secs) in enumerate(items):
        qty = m.energy_kwh - assigned if n == len(items) - 1 else m.energy_kwh * secs / total
        assigned += qty
        parts.append((qty, *_price_of(energy, index)))
    return parts


def _price_of(energy: Fixed, index: int | None) -> tuple[Decimal, str]:
    if index is None:
        return energy.price_per_kwh, ""
    tod = energy.time_of_day[index]
    return tod.price_per_kwh, f" ({window_label(tod.window)})"


# --------------------------------------------------------------------------- windows

_CompiledWindow: TypeAlias = tuple[frozenset[int], time, time]


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _hhmm(text: str) -> time:
    hours, _, minutes = text.partition(":")
    return time(int(hours), int(minutes))


def _compile(w: ScheduleWindow) -> _CompiledWindow:
    days = (
        frozenset(_DAY_INDEX[d] for d in w.days_of_week) if w.days_of_week else frozenset(range(7))
    )
    return days, _hhmm(w.start), _hhmm(w.end)


def _contains(w: _CompiledWindow, local: datetime) -> bool:
    days, start, end = w
    day = local.weekday()
    now = local.time().replace(tzinfo=None)
    if start < end:
        return day in days and start <= now < end
    # runs past midnight (or 24 h when start == end)
    return (day in days and now >= start) or ((day - 1) % 7 in days and now < end)


def _first_window(windows: list[_CompiledWindow], local: datetime) -> int | None:
    for i, w in enumerate(windows):
        if _contains(w, local):
            return i
    return None


def _pieces(
    windows: list[_CompiledWindow], zone: ZoneInfo, t0: datetime, t1: datetime
) -> Iterator[tuple[datetime, datetime]]:
    """Cut [t0, t1) at every instant where some window may open or close."""
    cuts = {t0, t1}
    first = t0.astimezone(zone).date() - timedelta(days=1)
    last = t1.astimezone(zone).date()
    day: date = first
    while day <= last:
        for _, start, end in windows:
            for clock in (start, end):
                instant = datetime.combine(day, clock, tzinfo=zone)
                if t0 < instant < t1:
                    cuts.add(instant)
        day += timedelta(days=1)
    ordered = sorted(cuts)
    yield from pairwise(ordered)


def _seconds(delta: timedelta) -> Decimal:
    return Decimal(delta.days * 86400 + delta.seconds) + Decimal(delta.microseconds) / 1_000_000


_SHORT_DAYS: Final[dict[str, str]] = {
    "MONDAY": "Mon",
    "TUESDAY": "Tue",
    "WEDNESDAY": "Wed",
    "THURSDAY": "Thu",
    "FRIDAY": "Fri",
    "SATURDAY": "Sat",
    "SUNDAY": "Sun",
}


def window_label(w: ScheduleWindow) -> str:
    """ "Mon,Tue 07:00-23:00" or "daily 22:00-06:00"."""
    if not w.days_of_week or len(set(w.days_of_week)) == 7:
        days = "daily"
    else:
        ordered = sorted(set(w.days_of_week), key=_DAY_INDEX.__getitem__)
        days = ",".join(_SHORT_DAYS[d] for d in ordered)
    return f"{days} {w.start}-{w.end}"


# --------------------------------------------------------------------------- summary


def summary(terms: RatePlanTerms) -> str:
    """One line for people: ``"0.35 EUR/kWh + 1.00 EUR/session"`` (prices excl. VAT)."""
    cur = terms.currency
    e = terms.energy
    if isinstance(e, Fixed):
        text = f"{format_price(e.price_per_kwh, cur)} {cur}/kWh"
        if e.time_of_day:
            windows = "; ".join(
                f"{format_price(t.price_per_kwh, cur)} {cur}/kWh {window_label(t.window)}"
                for t in e.time_of_day
            )
            text += f" ({windows})"
    elif isinstance(e, CostPlus):
        text = (
            f"energy cost ({format_price(e.cost_per_kwh, cur)} {cur}/kWh) "
            f"+ {format_price(e.delta_per_kwh, cur)} {cur}/kWh"
        )
    else:
        text = (
            f"energy cost ({format_price(e.cost_per_kwh, cur)} {cur}/kWh) + {_plain(e.percent)} %"
        )
    if terms.connection_fee is not None:
        text += f" + {format_price(terms.connection_fee, cur)} {cur}/session"
    if terms.time_fee_per_hour is not None:
        text += f" + {format_price(terms.time_fee_per_hour, cur)} {cur}/h"
    if terms.idle_fee is not None:
        idle = terms.idle_fee
        text += f" + {format_price(idle.per_minute, cur)} {cur}/min idle"
        if idle.grace_minutes:
            text += f" after {idle.grace_minutes} min"
        if idle.schedule is not None:
            text += " (" + "; ".join(window_label(w) for w in idle.schedule) + ")"
    return text


# --------------------------------------------------------------------------- storage


def terms_to_dict(terms: RatePlanTerms) -> dict[str, Any]:
    """JSON-ready dict in the API's shape; decimals as strings, absent options omitted."""
    e = terms.energy
    energy: dict[str, Any]
    if isinstance(e, Fixed):
        energy = {"kind": "fixed", "price_per_kwh": _s(e.price_per_kwh)}
        if e.time_of_day:
            energy["time_of_day"] = [
                {
                    "days_of_week": list(t.days_of_week),
                    "start": t.start,
                    "end": t.end,
                    "price_per_kwh": _s(t.price_per_kwh),
                }
                for t in e.time_of_day
            ]
    elif isinstance(e, CostPlus):
        energy = {
            "kind": "cost_plus",
            "cost_per_kwh": _s(e.cost_per_kwh),
            "delta_per_kwh": _s(e.delta_per_kwh),
        }
    else:
        energy = {
            "kind": "cost_plus_percent",
            "cost_per_kwh": _s(e.cost_per_kwh),
            "percent": _s(e.percent),
        }
    out: dict[str, Any] = {
        "currency": terms.currency,
        "vat_percent": _s(terms.vat_percent),
        "energy": energy,
    }
    if terms.connection_fee is not None:
        out["connection_fee"] = _s(terms.connection_fee)
    if terms.time_fee_per_hour is not None:
        out["time_fee_per_hour"] = _s(terms.time_fee_per_hour)
    if terms.idle_fee is not None:
        idle: dict[str, Any] = {
            "per_minute": _s(terms.idle_fee.per_minute),
            "grace_minutes": terms.idle_fee.grace_minutes,
        }
        if terms.idle_fee.schedule is not None:
            idle["schedule"] = [_window_dict(w) for w in terms.idle_fee.schedule]
        out["idle_fee"] = idle
    return out


def terms_from_dict(data: Mapping[str, Any]) -> RatePlanTerms:
    """Inverse of :func:`terms_to_dict`. Raises ``ValueError`` on a malformed document.

    This is for stored terms (already validated at the API edge by ``schemas``); it checks the
    structure and parses decimals strictly, but it is not the user-facing validator.
    """
    try:
        currency = str(data["currency"])
        minor_units(currency)
        e = data["energy"]
        kind = e["kind"]
        energy: Energy
        if kind == "fixed":
            energy = Fixed(
                _d(e["price_per_kwh"]),
                tuple(
                    TimeOfDayPrice(
                        _days(t.get("days_of_week") or ()),
                        _time(t["start"]),
                        _time(t["end"]),
                        _d(t["price_per_kwh"]),
                    )
                    for t in e.get("time_of_day") or ()
                ),
            )
        elif kind == "cost_plus":
            energy = CostPlus(_d(e["cost_per_kwh"]), _d(e["delta_per_kwh"]))
        elif kind == "cost_plus_percent":
            energy = CostPlusPercent(_d(e["cost_per_kwh"]), _d(e["percent"]))
        else:
            raise ValueError(f"unknown energy kind {kind!r}")
        idle = data.get("idle_fee")
        idle_fee = None
        if idle is not None:
            schedule = idle.get("schedule")
            grace = int(idle.get("grace_minutes", 0))
            if grace < 0:
                raise ValueError("grace_minutes must not be negative")
            idle_fee = IdleFee(
                _d(idle["per_minute"]),
                grace,
                None if schedule is None else tuple(_window(w) for w in schedule),
            )
        return RatePlanTerms(
            currency=currency,
            vat_percent=_d(data["vat_percent"]),
            energy=energy,
            connection_fee=_opt(data.get("connection_fee")),
            time_fee_per_hour=_opt(data.get("time_fee_per_hour")),
            idle_fee=idle_fee,
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"malformed rate plan terms: {exc!r}") from exc


def _s(value: Decimal) -> str:
    return f"{value:f}"


def _d(value: Any) -> Decimal:
    return parse_amount(str(value), max_decimals=10)


def _opt(value: Any) -> Decimal | None:
    return None if value is None else _d(value)


def _days(values: Iterable[str]) -> tuple[DayOfWeek, ...]:
    out: list[DayOfWeek] = []
    for v in values:
        if v not in _DAY_INDEX:
            raise ValueError(f"unknown day of week {v!r}")
        out.append(DAYS_OF_WEEK[_DAY_INDEX[v]])
    return tuple(out)


def _time(value: Any) -> str:
    text = str(value)
    hours, sep, minutes = text.partition(":")
    if not (
        sep and len(hours) == 2 and len(minutes) == 2 and hours.isdigit() and minutes.isdigit()
    ):
        raise ValueError(f"{text!r} is not a time HH:MM")
    if int(hours) > 23 or int(minutes) > 59:
        raise ValueError(f"{text!r} is not a time HH:MM")
    return text


def _window(w: Mapping[str, Any]) -> ScheduleWindow:
    return ScheduleWindow(_days(w.get("days_of_week") or ()), _time(w["start"]), _time(w["end"]))


def _window_dict(w: ScheduleWindow) -> dict[str, Any]:
    return {"days_of_week": list(w.days_of_week), "start": w.start, "end": w.end}


def priced_session_to_dict(priced: PricedSession) -> dict[str, Any]:
    """JSON-ready form of a priced session (the session's ``lines``/``vat``/``total``)."""
    return {
        "lines": [
            {"kind": line.kind, "description": line.description, "amount": _s(line.amount)}
            for line in priced.lines
        ],
        "subtotal": _s(priced.subtotal),
        "vat": _s(priced.vat),
        "vat_percent": _s(priced.vat_percent),
        "total": {"amount": _s(priced.total), "currency": priced.currency},
        "currency": priced.currency,
    }
