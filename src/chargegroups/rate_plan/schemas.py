"""API shapes for rate plans and group discounts (Pydantic 2).

Amounts are decimal strings (integers are accepted too; JSON floats are refused, since a binary
float cannot carry a price exactly). The models convert to and from the pure dataclasses in
:mod:`chargegroups.rate_plan.rules` through the same JSON-ready dict that is stored, so the
mapping lives in one place (``terms_to_dict`` / ``terms_from_dict``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from chargegroups.kit.money import is_currency
from chargegroups.rate_plan.rules import (
    Discount,
    RatePlanTerms,
    summary,
    terms_from_dict,
    terms_to_dict,
)

__all__ = [
    "Amount",
    "CostPlusEnergyIn",
    "CostPlusPercentEnergyIn",
    "Currency",
    "DiscountIn",
    "EnergyIn",
    "FixedEnergyIn",
    "IdleFeeIn",
    "RatePlanIn",
    "RatePlanOut",
    "RatePlanTermsIn",
    "RatePlanUpdate",
    "ScheduleWindowIn",
    "TimeOfDayPriceIn",
]


def _no_float(value: Any) -> Any:
    if isinstance(value, float | bool):
        raise ValueError('amounts are decimal strings, for example "0.40"')
    return value


def _known_currency(code: str) -> str:
    if not is_currency(code):
        raise ValueError(f"{code} is not an ISO 4217 currency code")
    return code


#: A non-negative amount excluding VAT: up to 6 decimals (prices per kWh need more than cents).
Amount = Annotated[
    Decimal,
    BeforeValidator(_no_float),
    Field(ge=0, max_digits=16, decimal_places=6, allow_inf_nan=False, examples=["0.40"]),
]
Percent = Annotated[
    Decimal,
    BeforeValidator(_no_float),
    Field(ge=0, le=1000, max_digits=7, decimal_places=2, allow_inf_nan=False, examples=["21"]),
]
Currency = Annotated[
    str,
    Field(pattern=r"^[A-Z]{3}$", examples=["EUR"], description="ISO 4217, upper case"),
    AfterValidator(_known_currency),
]
HourMinute = Annotated[
    str,
    Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", examples=["07:00"], description="HH:MM"),
]
DayOfWeek = Literal["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]

_STRICT = ConfigDict(extra="forbid")


class ScheduleWindowIn(BaseModel):
    """A weekly window in the site's local time. ``end`` not after ``start`` runs past
    midnight; ``start == end`` is 24 hours; no days means every day."""

    model_config = _STRICT
    days_of_week: list[DayOfWeek] = Field(default_factory=list, max_length=7)
    start: HourMinute
    end: HourMinute


class TimeOfDayPriceIn(ScheduleWindowIn):
    price_per_kwh: Amount


class FixedEnergyIn(BaseModel):
    model_config = _STRICT
    kind: Literal["fixed"]
    price_per_kwh: Amount
    time_of_day: list[TimeOfDayPriceIn] = Field(default_factory=list, max_length=48)


class CostPlusEnergyIn(BaseModel):
    model_config = _STRICT
    kind: Literal["cost_plus"]
    cost_per_kwh: Amount
    delta_per_kwh: Amount


class CostPlusPercentEnergyIn(BaseModel):
    model_config = _STRICT
    kind: Literal["cost_plus_percent"]
    cost_per_kwh: Amount
    percent: Percent


EnergyIn = Annotated[
    FixedEnergyIn | CostPlusEnergyIn | CostPlusPercentEnergyIn, Field(discriminator="kind")
]


class IdleFeeIn(BaseModel):
    model_config = _STRICT
    per_minute: Amount
    grace_minutes: int = Field(default=0, ge=0, le=24 * 60, strict=True)
    schedule: list[ScheduleWindowIn] | None = Field(default=None, max_length=48)


class RatePlanTermsIn(BaseModel):
    """The priced terms of a rate plan (``API.md``, "Rate plans"); amounts exclude VAT."""

    model_config = _STRICT
    currency: Currency
    vat_percent: Annotated[Percent, Field(le=100)]
    energy: EnergyIn
    connection_fee: Amount | None = None
    time_fee_per_hour: Amount | None = None
    idle_fee: IdleFeeIn | None = None

    def to_terms(self) -> RatePlanTerms:
        return terms_from_dict(
            self.model_dump(
                mode="json",
                exclude_none=True,
                include=set(RatePlanTermsIn.model_fields),
            )
        )

    @classmethod
    def from_terms(cls, terms: RatePlanTerms, **extra: Any) -> Self:
        return cls.model_validate({**terms_to_dict(terms), **extra})


class RatePlanIn(RatePlanTermsIn):
    """``POST /rate-plans``."""

    name: str = Field(min_length=1, max_length=200)


class RatePlanUpdate(BaseModel):
    """``PATCH /rate-plans/{id}``: only the fields sent change; ``null`` removes a fee."""

    model_config = _STRICT
    name: str | None = Field(default=None, min_length=1, max_length=200)
    currency: Currency | None = None
    vat_percent: Annotated[Percent, Field(le=100)] | None = None
    energy: EnergyIn | None = None
    connection_fee: Amount | None = None
    time_fee_per_hour: Amount | None = None
    idle_fee: IdleFeeIn | None = None

    @model_validator(mode="after")
    def _required_stay_set(self) -> Self:
        for name in ("currency", "vat_percent", "energy", "name"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be removed")
        return self

    def apply(self, terms: RatePlanTerms) -> RatePlanTerms:
        """The new version's terms: ``terms`` with the sent fields replaced."""
        merged = terms_to_dict(terms)
        sent = self.model_dump(mode="json", include=self.model_fields_set - {"name"})
        for key, value in sent.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        return RatePlanTermsIn.model_validate(merged).to_terms()


class RatePlanOut(RatePlanTermsIn):
    """A rate plan version as the API returns it."""

    model_config = ConfigDict(extra="ignore")
    id: str
    version: int
    name: str
    summary: str

    @classmethod
    def build(cls, *, id: str, version: int, name: str, terms: RatePlanTerms) -> RatePlanOut:
        return cls.from_terms(terms, id=id, version=version, name=name, summary=summary(terms))


class DiscountIn(BaseModel):
    """A group discount on a rate plan: ``{"percent": "20"}`` or ``{"free": true}``."""

    model_config = _STRICT
    percent: (
        Annotated[
            Decimal,
            BeforeValidator(_no_float),
            Field(gt=0, le=100, max_digits=5, decimal_places=2, allow_inf_nan=False),
        ]
        | None
    ) = None
    free: Literal[True] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.percent is None) == (self.free is None):
            raise ValueError('send exactly one of {"percent": "<0-100>"} or {"free": true}')
        return self

    def to_discount(self) -> Discount:
        return Discount.free() if self.percent is None else Discount.percent(self.percent)

    @classmethod
    def from_discount(cls, discount: Discount) -> DiscountIn:
        if discount.percentage is None:
            return cls(free=True)
        return cls(percent=discount.percentage)
