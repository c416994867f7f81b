"""Money helpers: ISO 4217 minor units, half-even rounding, strict parsing.

Money is always :class:`~decimal.Decimal`, never ``float``. Amounts are rounded to the
currency's minor unit with ``ROUND_HALF_EVEN`` (banker's rounding), as pricing rule P0 asks.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Final

__all__ = [
    "MINOR_UNITS",
    "InvalidAmount",
    "UnknownCurrency",
    "format_amount",
    "format_price",
    "is_currency",
    "minor_units",
    "parse_amount",
    "quantize",
]


class UnknownCurrency(ValueError):
    """The code is not an ISO 4217 currency this system knows."""


class InvalidAmount(ValueError):
    """A text is not an acceptable decimal amount."""


# ISO 4217 minor units (exponent). Only currencies whose exponent differs from 2 need care;
# the rest are listed so that an unknown code is rejected instead of silently assumed.
_ZERO: Final = ("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX",
                "UYI", "VND", "VUV", "XAF", "XOF", "XPF")  # fmt: skip
_THREE: Final = ("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND")
_FOUR: Final = ("CLF", "UYW")
_TWO: Final = (
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF",
    "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR",
    "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF",
    "IDR", "ILS", "INR", "IRR", "JMD", "KES", "KGS", "KHR", "KPW", "KYD", "KZT", "LAK", "LBP",
    "LKR", "LRD", "LSL", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR",
    "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "PAB", "PEN", "PGK",
    "PHP", "PKR", "PLN", "QAR", "RON", "RSD", "RUB", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD",
    "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TOP",
    "TRY", "TTD", "TWD", "TZS", "UAH", "USD", "UYU", "UZS", "VES", "WST", "XCD", "YER", "ZAR",
    "ZMW", "ZWL",
)  # fmt: skip

MINOR_UNITS: Final[dict[str, int]] = {
    **dict.fromkeys(_TWO, 2),
    **dict.fromkeys(_ZERO, 0),
    **dict.fromkeys(_THREE, 3),
    **dict.fromkeys(_FOUR, 4),
}

# One exponent object per precision, built once (quantize is called per price line).
_EXPONENTS: Final[dict[int, Decimal]] = {n: Decimal(1).scaleb(-n) for n in range(5)}


def is_currency(code: str) -> bool:
    """True when ``code`` is a known ISO 4217 code (exactly as written: upper case)."""
    return code in MINOR_UNITS


def minor_units(currency: str) -> int:
    """Number of decimals of ``currency``'s minor unit (EUR 2, JPY 0, KWD 3)."""
    try:
        return MINOR_UNITS[currency]
    except KeyError:
        raise UnknownCurrency(f"unknown currency code {currency!r}") from None


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round ``amount`` half-even to ``currency``'s minor unit (2.625 EUR -> 2.62)."""
    return amount.quantize(_EXPONENTS[minor_units(currency)], rounding=ROUND_HALF_EVEN)


def parse_amount(
    text: str,
    *,
    max_decimals: int = 6,
    allow_negative: bool = False,
    max_digits: int = 18,
) -> Decimal:
    """Parse a decimal string strictly: no exponent, no NaN/Infinity, bounded precision.

    Raises :class:`InvalidAmount` with a sentence fit for an API error.
    """
    if not isinstance(text, str):
        raise InvalidAmount('an amount must be a decimal string such as "0.40"')
    stripped = text.strip()
    if not stripped or any(c not in "0123456789.-+" for c in stripped):
        raise InvalidAmount(f'{text!r} is not a decimal number such as "0.40"')
    try:
        value = Decimal(stripped)
    except InvalidOperation:
        raise InvalidAmount(f'{text!r} is not a decimal number such as "0.40"') from None
    if not value.is_finite():
        raise InvalidAmount(f"{text!r} is not a finite number")
    if value < 0 and not allow_negative:
        raise InvalidAmount(f"{text!r} must not be negative")
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)  # finite, checked above
    if -exponent > max_decimals:
        raise InvalidAmount(f"{text!r} has more than {max_decimals} decimals")
    if len(value.as_tuple().digits) + min(exponent, 0) > max_digits - max_decimals:
        raise InvalidAmount(f"{text!r} is too large")
    return value


def format_amount(amount: Decimal, currency: str) -> str:
    """``amount`` rounded to the minor unit, as a plain string ("1.00", "1500" for JPY)."""
    return f"{quantize(amount, currency):f}"


def format_price(price: Decimal, currency: str) -> str:
    """A unit price: at least the minor unit's decimals, more when the price has them.

    ``0.4`` EUR -> "0.40"; ``0.355`` EUR -> "0.355"; ``30`` JPY -> "30".
    """
    places = minor_units(currency)
    exponent = price.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    decimals = max(places, -exponent)
    return f"{price.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN):f}"
