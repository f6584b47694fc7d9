"""Exact accounting: cash, reservations, positions, P&L, commissions.

The identity every change keeps (``Books.identity_gap()`` is always zero)::

    cash + reserved + sum(position.cost) == initial_cash + realized_pnl - commissions

where ``position.cost`` is the signed cost basis of the open quantity (negative
for a short: the proceeds received). Marking to market adds the unrealized part::

    equity = cash + reserved + sum(quantity * mark)
           = initial_cash + realized_pnl - commissions + unrealized_pnl

Reservations only move money between ``cash`` and ``reserved`` (or hold
position quantity), so they never create or destroy any. A commission charged
in the bought asset or a third asset (``book_fill``, ``domain/fees.py``) keeps
the identity too: the first is a disposal of part of the position that pays
the fee, the second moves neither cash nor positions and is kept, in its own
asset, in ``asset_fees``. A negative commission is a rebate the venue paid:
it credits the same place a charge debits (cash, the position, or
``asset_fees`` goes below zero) and ``commissions`` goes down by its value,
never a charge with its sign flipped. Arithmetic runs in a
high-precision context so that sums are exact; the only divisions (proportional
cost removal, proportional release of a reservation) are quantized to
``QUANTUM`` and both sides of each booking use the same quantized value.
"""

from __future__ import annotations

from decimal import Context, Decimal, DivisionByZero, InvalidOperation, Overflow, localcontext

import msgspec

from livecore.domain.fees import FeeKind, fee_kind
from livecore.wire.enums import members
from livecore.wire.messages import Side

ZERO = Decimal(0)
_Side = members(Side)  # cheap member reads (wire.enums)
QUANTUM = Decimal("1e-12")
NS_PER_DAY = 86_400 * 1_000_000_000
ACCOUNTING = Context(prec=80, traps=[InvalidOperation, DivisionByZero, Overflow])
# The context's own methods: the same exact results as arithmetic inside
# ``localcontext(ACCOUNTING)``, without entering and leaving a context (which
# copies it) on paths that run on every event or order.
_add = ACCOUNTING.add
_subtract = ACCOUNTING.subtract
_multiply = ACCOUNTING.multiply
_minus = ACCOUNTING.minus
_abs = ACCOUNTING.abs


def divide(numerator: Decimal, denominator: Decimal) -> Decimal:
    """``numerator / denominator`` quantized to ``QUANTUM`` (the only inexact step)."""
    with localcontext(ACCOUNTING):
        return (numerator / denominator).quantize(QUANTUM)


class Position(msgspec.Struct, kw_only=True):
    """Signed quantity, signed cost basis, and quantity held by open sell orders."""

    quantity: Decimal = ZERO
    cost: Decimal = ZERO
    reserved_qty: Decimal = ZERO

    @property
    def avg_cost(self) -> Decimal:
        return divide(self.cost, self.quantity) if self.quantity else ZERO

    @property
    def available_to_sell(self) -> Decimal:
        """Long quantity not yet promised to an open sell order."""
        return max(self.quantity - self.reserved_qty, ZERO)


def _close_part(position: Position, qty: Decimal, signed: Decimal, price: Decimal) -> tuple[Decimal, Decimal]:
    """Close what a fill of ``signed`` (``qty`` unsigned) at ``price`` closes of an
    opposite ``position``; return the realized P&L and the signed quantity left to open."""
    held = _abs(position.quantity)
    closing = min(qty, held)
    closing_signed = closing if signed > 0 else _minus(closing)
    removed = position.cost if closing == held else divide(_multiply(position.cost, closing), held)
    position.cost = _subtract(position.cost, removed)
    position.quantity = _add(position.quantity, closing_signed)
    return _subtract(_multiply(_minus(closing_signed), price), removed), _subtract(signed, closing_signed)


class Books(msgspec.Struct, kw_only=True):
    """The account of one portfolio. Mutated only through its methods."""

    initial_cash: Decimal
    cash: Decimal
    reserved: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    commissions: Decimal = ZERO
    positions: dict[str, Position] = {}
    last_prices: dict[str, Decimal] = {}
    day: int = -1  # UTC day number of the last market event
    day_start_equity: Decimal = ZERO
    asset_fees: dict[str, Decimal] = {}  # commissions paid in a third asset, by asset (not in equity)

    @classmethod
    def opening(cls, initial_cash: Decimal) -> Books:
        return cls(initial_cash=initial_cash, cash=initial_cash, day_start_equity=initial_cash)

    # --- prices ---------------------------------------------------------------

    def mark(self, symbol: str, price: Decimal, ts_ns: int) -> Decimal | None:
        """Record the last price of ``symbol``; roll the trading day forward (a late event
        from an earlier day does not reset the day's baseline). Returns the previous price."""
        if ts_ns >= (self.day + 1) * NS_PER_DAY:  # a later day: ts_ns // NS_PER_DAY > self.day
            self.day_start_equity = self.equity()
            self.day = ts_ns // NS_PER_DAY
        previous = self.last_prices.get(symbol)
        self.last_prices[symbol] = price
        return previous

    # --- reservations ---------------------------------------------------------

    def reserve_cash(self, amount: Decimal) -> None:
        self.cash = _subtract(self.cash, amount)
        self.reserved = _add(self.reserved, amount)

    def release_cash(self, amount: Decimal) -> None:
        self.reserved = _subtract(self.reserved, amount)
        self.cash = _add(self.cash, amount)

    def reserve_qty(self, symbol: str, qty: Decimal) -> None:
        position = self.positions.setdefault(symbol, Position())
        position.reserved_qty += qty

    def release_qty(self, symbol: str, qty: Decimal) -> None:
        position = self.positions.get(symbol)
        if position is None or not qty:
            return
        position.reserved_qty -= qty
        self._drop_if_empty(symbol, position)

    # --- fills ----------------------------------------------------------------

    def apply_fill(self, symbol: str, side: Side, qty: Decimal, price: Decimal, commission: Decimal) -> Decimal:
        """Book one execution; return the realized P&L it produced (before commission).
        Exact: the ``ACCOUNTING`` context's methods compute what the operators do inside
        ``localcontext(ACCOUNTING)``, without entering one per fill."""
        signed = qty if side is _Side.BUY else _minus(qty)
        positions = self.positions
        position = positions.get(symbol)
        if position is None:
            position = positions[symbol] = Position()
        self.cash = _subtract(self.cash, _add(_multiply(signed, price), commission))
        self.commissions = _add(self.commissions, commission)
        held = position.quantity
        if held and (held > 0) != (signed > 0):
            realized, opening = _close_part(position, qty, signed, price)
        else:
            realized, opening = ZERO, signed
        if opening:
            position.quantity = _add(position.quantity, opening)
            position.cost = _add(position.cost, _multiply(opening, price))
        self.realized_pnl = _add(self.realized_pnl, realized)
        self._drop_if_empty(symbol, position)
        return realized

    def book_fill(
        self, symbol: str, side: Side, qty: Decimal, price: Decimal, commission: Decimal, commission_asset: str = ""
    ) -> Decimal:
        """Book one execution whose commission is charged in ``commission_asset``
        (empty: the quote; see ``domain/fees.py``); return the realized P&L."""
        kind = fee_kind(symbol, commission_asset)
        if kind is FeeKind.QUOTE:
            return self.apply_fill(symbol, side, qty, price, commission)
        realized = self.apply_fill(symbol, side, qty, price, ZERO)
        if not commission:
            return realized
        if kind is FeeKind.OTHER:
            with localcontext(ACCOUNTING):
                self.asset_fees[commission_asset] = self.asset_fees.get(commission_asset, ZERO) + commission
            return realized
        with localcontext(ACCOUNTING):
            value = commission * price
        if commission < 0:  # a rebate paid in the base: an acquisition at the fill price the venue paid for
            return realized + self.apply_fill(symbol, Side.BUY, -commission, price, value)
        # the venue kept ``commission`` of the base: a disposal at the fill price paying the fee
        return realized + self.apply_fill(symbol, Side.SELL, commission, price, value)

    def _drop_if_empty(self, symbol: str, position: Position) -> None:
        if not position.quantity and not position.reserved_qty and not position.cost:
            del self.positions[symbol]

    # --- read side ------------------------------------------------------------

    def position_qty(self, symbol: str) -> Decimal:
        position = self.positions.get(symbol)
        return position.quantity if position is not None else ZERO

    def mark_price(self, symbol: str) -> Decimal | None:
        return self.last_prices.get(symbol)

    def market_value(self, symbol: str) -> Decimal:
        """Quantity at the last price (at cost while no price was seen)."""
        position = self.positions.get(symbol)
        if position is None:
            return ZERO
        price = self.last_prices.get(symbol)
        with localcontext(ACCOUNTING):
            return position.cost if price is None else position.quantity * price

    def equity(self) -> Decimal:
        """Cash, reserved cash and every position at its last price (at cost before
        a price was seen): ``market_value`` summed."""
        return self.totals()[1]

    def totals(self) -> tuple[Decimal, Decimal]:
        """``(cash + reserved, equity())`` in one pass: what an equity sample records."""
        cash = _add(self.cash, self.reserved)
        total = cash
        prices = self.last_prices
        for symbol, position in self.positions.items():
            price = prices.get(symbol)
            total = _add(total, position.cost if price is None else _multiply(position.quantity, price))
        return cash, total

    def unrealized_pnl(self) -> Decimal:
        with localcontext(ACCOUNTING):
            total = ZERO
            for symbol, position in self.positions.items():
                total += self.market_value(symbol) - position.cost
            return total

    def daily_pnl(self) -> Decimal:
        with localcontext(ACCOUNTING):
            return self.equity() - self.day_start_equity

    def identity_gap(self) -> Decimal:
        """``(cash + reserved + costs) - (initial + realized - commissions)``: always zero."""
        with localcontext(ACCOUNTING):
            held = self.cash + self.reserved + sum((p.cost for p in self.positions.values()), ZERO)
            return held - (self.initial_cash + self.realized_pnl - self.commissions)
