"""The wire's value bounds, in one place.

A message that decodes must be storable, priceable and bookable without an
exception: every integer fits the signed 64-bit columns it is journaled in,
every decimal is finite and small enough that the gateway's rounding and the
books' exact arithmetic cannot overflow their contexts, every string that
becomes an id or a key is short and printable.

Integer and string-length limits are msgspec ``Meta`` constraints on the
field types below (checked at decode, in C; the error names the field's path).
Decimal limits, printable names and cross-field rules are ``check_*`` helpers
that the structs call from ``__post_init__``, so they hold on decode *and* on
construction: a component cannot build a message that its peer would refuse.
The limits are documented in docs/ARCHITECTURE.md (wire contract).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import msgspec

INT64_MAX = 2**63 - 1

# Timestamps: nanoseconds since the Unix epoch, from 1970-01-01 up to
# 2200-01-01 (exclusive) -- far inside a signed 64-bit integer.
MIN_TS_NS = 0
MAX_TS_NS = 7_258_118_400 * 1_000_000_000 - 1

# A bar lasts at least one second and at most the whole timestamp window (a
# replay infers the interval from the gap between bars, which may be years).
MAX_INTERVAL_S = 7_258_118_400

# Decimals: at most MAX_SCALE places (the books' quantum, 1e-12), prices and
# quantities below 1e15, money amounts (commissions) below 1e30. Then a
# product of price and quantity has at most 54 significant digits: exact in
# the books' 80-digit context and quantizable by the gateway's cost model.
MAX_SCALE = 12
MAX_PRICE = Decimal("1e15")
MAX_QUANTITY = Decimal("1e15")
MAX_AMOUNT = Decimal("1e30")

# Strings: names (portfolio, node, symbol, command; a portfolio id may have 128
# characters, see domain/spec.py), client order ids ("{portfolio}-{epoch}-{seq}",
# at most 168 characters) and the ids derived from those (fill id
# "{client order id}-f{n}", venue order id "{venue}-{client order id}"), nonces.
# Free text (reasons, details) becomes no key and is not bounded.
MAX_NAME_LENGTH = 128
MAX_ORDER_ID_LENGTH = 192
MAX_ID_LENGTH = 256
MAX_SIGNATURE_LENGTH = 256

Count = Annotated[int, msgspec.Meta(ge=0, le=INT64_MAX)]
"""Epochs, sequence numbers, offsets, partitions, schema versions."""
TimestampNs = Annotated[int, msgspec.Meta(ge=MIN_TS_NS, le=MAX_TS_NS)]
IntervalS = Annotated[int, msgspec.Meta(ge=1, le=MAX_INTERVAL_S)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_NAME_LENGTH)]
OptionalName = Annotated[str, msgspec.Meta(max_length=MAX_NAME_LENGTH)]
"""A name that may be empty (a feedback report's symbol when unknown)."""
OrderId = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_ORDER_ID_LENGTH)]
"""A client order id: short enough that the ids derived from it stay ``Id``s."""
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_ID_LENGTH)]
Signature = Annotated[str, msgspec.Meta(max_length=MAX_SIGNATURE_LENGTH)]

_ZERO = Decimal(0)


def check_printable(message: object, names: tuple[str, ...], joined: str) -> None:
    """Raise ``ValueError`` unless ``joined`` (the string fields ``names`` of
    ``message`` concatenated, None as empty) is printable: no control, format,
    line/paragraph separator, non-ASCII space, private-use or unassigned
    character (``str.isprintable``). The caller joins, so that the common path
    costs one concatenation and one C call; the error names the first bad field."""
    if joined.isprintable():
        return
    for name in names:
        value = getattr(message, name) or ""
        if not value.isprintable():
            raise ValueError(f"{name} holds a non-printable character: {_show(ascii(value))}")


def _show(value: object) -> str:
    """A value for an error message, cut short (a hostile value may be huge)."""
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _plain_scale(value: Decimal) -> bool:
    """Whether ``value`` is written in plain notation with at most ``MAX_SCALE``
    places: its string shows the scale as written ("187.1200" has 4 places)."""
    text = str(value)
    dot = text.find(".")
    return "E" not in text and (dot < 0 or len(text) - dot - 1 <= MAX_SCALE)


def check_decimal(name: str, value: Decimal, *, limit: Decimal, positive: bool) -> None:
    """Raise ``ValueError`` naming ``name`` unless ``value`` is a finite Decimal with
    at most ``MAX_SCALE`` places, ``0 <= value < limit`` (``0 <`` if ``positive``).
    ``check_price`` and ``check_quantity`` run the same common path with their
    limits written in (no keyword call for every price and quantity a message carries)."""
    try:  # the common path, run on every decoded price: comparisons and the plain string
        if (value > _ZERO if positive else value >= _ZERO) and value < limit and _plain_scale(value):
            return
    except (AttributeError, TypeError, ArithmeticError):  # not a Decimal; NaN signals on comparison
        pass
    _check_slowly(name, value, limit, positive)


def _check_slowly(name: str, value: Decimal, limit: Decimal, positive: bool) -> None:
    """Work out which rule ``value`` breaks and raise it (or return: "1E+20" passes here)."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError(f"{name} must be a finite decimal, got {_show(value)}")
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)  # finite decimals have an integer exponent
    if exponent < -MAX_SCALE:
        raise ValueError(f"{name} has more than {MAX_SCALE} decimal places: {_show(value)}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be a positive number, got {_show(value)}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {_show(value)}")
    if value >= limit:
        raise ValueError(f"{name} must be below {limit}, got {_show(value)}")


def plain_tick(symbol: str, price: Decimal, size: Decimal) -> bool:
    """True when a tick's symbol, price and size are plainly within bounds: a
    printable symbol, ``0 < price < MAX_PRICE`` written with at most ``MAX_SCALE``
    places, and a size written "0" (a trade size is most often left at its
    default). One pass of comparisons and two strings, for the common tick; False
    sends the caller to the full checks, which name what is wrong (or pass)."""
    try:
        if not (symbol and symbol.isprintable() and _ZERO < price < MAX_PRICE) or str(size) != "0":
            return False
        text = str(price)
    except (AttributeError, TypeError, ArithmeticError):  # not a str / Decimal; NaN signals
        return False
    dot = text.find(".")
    return "E" not in text and (dot < 0 or len(text) - dot - 1 <= MAX_SCALE)


def check_price(name: str, value: Decimal) -> None:
    """A positive price below ``MAX_PRICE`` (``check_decimal``'s common path, its limit written in)."""
    try:
        if _ZERO < value < MAX_PRICE and _plain_scale(value):
            return
    except (AttributeError, TypeError, ArithmeticError):
        pass
    _check_slowly(name, value, MAX_PRICE, True)


def check_quantity(name: str, value: Decimal, *, positive: bool = True) -> None:
    """A quantity (or volume, size) below ``MAX_QUANTITY``; zero allowed unless ``positive``
    (``check_decimal``'s common path, its limit written in)."""
    try:
        if (value > _ZERO if positive else value >= _ZERO) and value < MAX_QUANTITY and _plain_scale(value):
            return
    except (AttributeError, TypeError, ArithmeticError):
        pass
    _check_slowly(name, value, MAX_QUANTITY, positive)


def check_amount(name: str, value: Decimal) -> None:
    """A non-negative money amount below ``MAX_AMOUNT``."""
    check_decimal(name, value, limit=MAX_AMOUNT, positive=False)


def check_signed_amount(name: str, value: Decimal) -> None:
    """A money amount of either sign, its size below ``MAX_AMOUNT``: a commission,
    negative when the venue paid a rebate (a charge, the common case, is checked first)."""
    try:
        if _ZERO <= value < MAX_AMOUNT and _plain_scale(value):
            return
    except (AttributeError, TypeError, ArithmeticError):
        pass
    if isinstance(value, Decimal) and value.is_finite() and value < 0:
        if value <= -MAX_AMOUNT:
            raise ValueError(f"{name} must be above -{MAX_AMOUNT}, got {_show(value)}")
        value = -value  # the same scale rule as a charge
    check_decimal(name, value, limit=MAX_AMOUNT, positive=False)
