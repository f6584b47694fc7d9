"""Execution costs of the paper broker: slippage and commission, exact in Decimal.

Prices are quantised to ``price_quantum`` (default 0.0001) rounding *against*
the trader (a buy rounds up, a sell rounds down), so quantisation never makes a
fill look better than the market. Commissions are quantised to
``commission_quantum`` (default 0.0001), half-up.

The minimum commission applies per order, not per fill: the order's total
commission after ``n`` fills is ``max(raw(n), minimum)`` and each fill is
charged the difference to the total before it. A partial-fill sequence
therefore costs exactly what one fill of the same quantity and value costs.

Arithmetic runs in a wide context (``PRICING``): with the wire's bounds
(``wire.bounds``) a price times a quantity has at most 54 digits, so every
product is exact and ``quantize`` cannot fail the way it does in the default
28-digit context (a 1E+30 price used to raise ``InvalidOperation``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import (
    ROUND_CEILING,
    ROUND_FLOOR,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)

from livecore.checks import require
from livecore.wire.bounds import MAX_SCALE
from livecore.wire.messages import ZERO, Side  # ZERO: the reports' default amount, the very object

_BPS = Decimal(10_000)
PRICING = Context(prec=80, traps=[InvalidOperation, DivisionByZero, Overflow])
# its methods compute as arithmetic inside ``localcontext(PRICING)`` does, without
# entering a context (which copies it) for every fill
_add, _subtract, _multiply, _divide = PRICING.add, PRICING.subtract, PRICING.multiply, PRICING.divide
_BUY = Side.BUY  # an Enum class attribute read is slow on Python 3.11


@dataclass(frozen=True, slots=True)
class CostModel:
    """Slippage in basis points against the trader; commission per share, in
    basis points of traded value, with a per-order minimum."""

    slippage_bps: Decimal = ZERO
    commission_per_share: Decimal = ZERO
    commission_bps: Decimal = ZERO
    commission_min: Decimal = ZERO
    price_quantum: Decimal = Decimal("0.0001")
    commission_quantum: Decimal = Decimal("0.0001")

    def __post_init__(self) -> None:
        for name in ("slippage_bps", "commission_per_share", "commission_bps", "commission_min"):
            value = getattr(self, name)
            require(
                isinstance(value, Decimal) and value.is_finite() and value >= 0,
                self,
                name,
                "must be a finite Decimal >= 0",
            )
        require(self.slippage_bps < _BPS, self, "slippage_bps", f"must be below {_BPS}")
        for name in ("price_quantum", "commission_quantum"):
            value = getattr(self, name)
            require(
                isinstance(value, Decimal) and value.is_finite() and value > 0, self, name, "must be a positive Decimal"
            )
            require(
                value.as_tuple().exponent >= -MAX_SCALE,  # finite here: the exponent is an int
                self,
                name,
                f"must have at most {MAX_SCALE} decimal places (the wire's)",
            )

    def slipped_price(self, price: Decimal, side: Side) -> Decimal:
        """``price`` moved by the slippage against ``side`` and quantised against it
        (no slippage: ``price`` itself is quantised, the value ``price * 1`` has)."""
        bps = self.slippage_bps
        if side is _BUY:
            raw = _multiply(price, _add(1, _divide(bps, _BPS))) if bps else price
            return raw.quantize(self.price_quantum, rounding=ROUND_CEILING, context=PRICING)
        raw = _multiply(price, _subtract(1, _divide(bps, _BPS))) if bps else price
        slipped = raw.quantize(self.price_quantum, rounding=ROUND_FLOOR, context=PRICING)
        return slipped if slipped > 0 else self.price_quantum

    def total_commission(self, filled_qty: Decimal, filled_value: Decimal) -> Decimal:
        """Commission owed for an order that has filled ``filled_qty`` for ``filled_value``.
        A rate of zero adds nothing and is skipped: the quantised result depends only on
        the raw value, not on how its zero terms were written."""
        if filled_qty <= 0:
            return ZERO
        raw = ZERO
        if self.commission_per_share:
            raw = _multiply(self.commission_per_share, filled_qty)
        if self.commission_bps:
            raw = _add(raw, _divide(_multiply(self.commission_bps, filled_value), _BPS))
        return max(raw, self.commission_min).quantize(self.commission_quantum, rounding=ROUND_HALF_UP, context=PRICING)
