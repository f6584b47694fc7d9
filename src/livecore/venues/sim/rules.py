"""Why the venue refuses an order, and the market filters that decide it.

Pure: each venue's wire module maps a ``Reason`` to its own code and message.
"""

from __future__ import annotations

import enum
from decimal import Decimal

from livecore.venues.sim.model import MarketSpec


class Reason(enum.StrEnum):
    INSUFFICIENT_BALANCE = "insufficient balance"
    MIN_NOTIONAL = "notional below the minimum"
    MIN_QTY = "quantity below the minimum"
    LOT_SIZE = "quantity off the lot size or above the maximum"
    PRICE_FILTER = "price off the tick or the limits"
    UNKNOWN_SYMBOL = "unknown symbol"
    UNKNOWN_ORDER = "unknown order"
    DUPLICATE_ORDER = "client order id already used by an open order"
    BAD_REQUEST = "malformed order"


class Rejected(Exception):
    """The venue refuses a request; nothing changed."""

    def __init__(self, reason: Reason, detail: str = "") -> None:
        super().__init__(f"{reason.value}{': ' + detail if detail else ''}")
        self.reason = reason
        self.detail = detail


def _on_grid(value: Decimal, origin: Decimal, step: Decimal) -> bool:
    return step == 0 or (value - origin) % step == 0


def check_price(spec: MarketSpec, price: Decimal) -> None:
    """Binance's PRICE_FILTER: within the limits and on the tick."""
    if price < spec.min_price or price > spec.max_price or not _on_grid(price, spec.min_price, spec.tick_size):
        raise Rejected(Reason.PRICE_FILTER, f"{price}")


def check_quantity(spec: MarketSpec, qty: Decimal) -> None:
    """Binance's LOT_SIZE: within the limits and on the step."""
    if qty < spec.min_qty:
        raise Rejected(Reason.MIN_QTY, f"{qty} < {spec.min_qty}")
    if qty > spec.max_qty or not _on_grid(qty, spec.min_qty, spec.step_size):
        raise Rejected(Reason.LOT_SIZE, f"{qty}")


def check_notional(spec: MarketSpec, notional: Decimal) -> None:
    """Binance's NOTIONAL: price times quantity at least the minimum."""
    if notional < spec.min_notional:
        raise Rejected(Reason.MIN_NOTIONAL, f"{notional} < {spec.min_notional}")


def floor_to_step(spec: MarketSpec, qty: Decimal) -> Decimal:
    """The largest quantity on the step not above ``qty`` (a market buy by quote amount)."""
    if spec.step_size == 0:
        return qty
    return (qty // spec.step_size) * spec.step_size
