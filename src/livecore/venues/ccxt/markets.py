"""A venue market's trading rules, and the check every order passes before it leaves.

From ccxt's ``load_markets``: the amount step and the price tick (ccxt's
``precision``, read as tick sizes under ``TICK_SIZE`` mode and as decimal
places under ``DECIMAL_PLACES``), and the ``limits`` (amount, price, cost =
notional). An order that cannot meet them is not sent: it is rejected back to
its portfolio with the reason, which names the rule and the numbers. Nothing
is rounded on the portfolio's behalf: a quantity off the step is the
portfolio's to fix (its sizer's ``lot_size``).

Pure: no I/O. Values become ``Decimal`` through ``str`` (ccxt hands out floats;
``str`` of a float is its shortest exact decimal, which is the venue's text).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from livecore.wire.messages import NewOrder, OrderType

TICK_SIZE = 4  # ccxt's precisionMode constants
DECIMAL_PLACES = 2

# reason prefixes of the rejections built here (and of the venue's own answers, errors.py)
PRECISION = "precision"
MIN_NOTIONAL = "min_notional"
LIMITS = "limits"
UNKNOWN_SYMBOL = "unknown_symbol"
NO_PRICE = "no_price"


def to_decimal(value: Any) -> Decimal | None:
    """A ccxt number (float, int, str or None) as a Decimal; None when absent or not finite."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _step(value: Any, mode: int) -> Decimal | None:
    number = to_decimal(value)
    if number is None or number <= 0:
        return None
    if mode == DECIMAL_PLACES:
        return Decimal(1).scaleb(-int(number))
    return number


@dataclass(frozen=True, slots=True)
class MarketRules:
    """One market's rules; None means the venue states none."""

    symbol: str
    market_id: str
    base: str
    quote: str
    amount_step: Decimal | None = None
    price_tick: Decimal | None = None
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    min_notional: Decimal | None = None
    max_notional: Decimal | None = None
    active: bool = True


def rules_from_market(market: Mapping[str, Any], precision_mode: int = TICK_SIZE) -> MarketRules:
    """``MarketRules`` of one ccxt market structure."""
    precision = market.get("precision") or {}
    limits = market.get("limits") or {}

    def limit(kind: str, end: str) -> Decimal | None:
        number = to_decimal((limits.get(kind) or {}).get(end))
        return number if number is not None and number > 0 else None

    return MarketRules(
        symbol=str(market["symbol"]),
        market_id=str(market.get("id") or market["symbol"]),
        base=str(market.get("base") or ""),
        quote=str(market.get("quote") or ""),
        amount_step=_step(precision.get("amount"), precision_mode),
        price_tick=_step(precision.get("price"), precision_mode),
        min_amount=limit("amount", "min"),
        max_amount=limit("amount", "max"),
        min_price=limit("price", "min"),
        max_price=limit("price", "max"),
        min_notional=limit("cost", "min"),
        max_notional=limit("cost", "max"),
        active=market.get("active") is not False,
    )


def _off_step(value: Decimal, step: Decimal | None) -> bool:
    return step is not None and value % step != 0


def check_order(order: NewOrder, rules: MarketRules, reference_price: Decimal | None) -> str | None:
    """Why ``order`` cannot be sent to this market (the rejection reason), or None.

    ``reference_price`` prices a market order's notional (the last price seen);
    without one a market order's minimum notional is left to the venue."""
    qty = order.quantity
    if not rules.active:
        return f"{UNKNOWN_SYMBOL}: {rules.symbol} is not trading at the venue"
    if _off_step(qty, rules.amount_step):
        return f"{PRECISION}: quantity {qty} is not a multiple of {rules.symbol}'s step {rules.amount_step}"
    if rules.min_amount is not None and qty < rules.min_amount:
        return f"{LIMITS}: quantity {qty} is below {rules.symbol}'s minimum {rules.min_amount}"
    if rules.max_amount is not None and qty > rules.max_amount:
        return f"{LIMITS}: quantity {qty} is above {rules.symbol}'s maximum {rules.max_amount}"
    price = order.limit_price if order.order_type is OrderType.LIMIT else reference_price
    if order.limit_price is not None:
        limit = order.limit_price
        if _off_step(limit, rules.price_tick):
            return f"{PRECISION}: limit price {limit} is not a multiple of {rules.symbol}'s tick {rules.price_tick}"
        if rules.min_price is not None and limit < rules.min_price:
            return f"{LIMITS}: limit price {limit} is below {rules.symbol}'s minimum {rules.min_price}"
        if rules.max_price is not None and limit > rules.max_price:
            return f"{LIMITS}: limit price {limit} is above {rules.symbol}'s maximum {rules.max_price}"
    if price is None:
        return None
    notional = qty * price
    if rules.min_notional is not None and notional < rules.min_notional:
        return f"{MIN_NOTIONAL}: {qty} x {price} = {notional} is below {rules.symbol}'s minimum {rules.min_notional}"
    return None  # a maximum notional (ccxt's cost.max) is the venue's to judge: ccxt conflates kinds of it
