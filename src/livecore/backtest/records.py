"""What a backtest keeps: every fill, every order with its final state, and each
portfolio's equity at every event time that touched it. Built from the same execution reports
the live gateway publishes, so the records mean what the journal means.

A run keeps one record per event time and portfolio: they are structs that hold
only scalars (and the order message), built with ``gc=False`` so that the
garbage collector never scans them."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import msgspec

from livecore.domain.fees import FeeKind, asset_name, fee_kind
from livecore.wire.messages import FILL_STATUSES, FeedbackStatus, NewOrder, OrderFeedback, Side

ZERO = Decimal(0)
FINAL = frozenset(s.value for s in (FeedbackStatus.FILLED, FeedbackStatus.REJECTED, FeedbackStatus.CANCELLED))
# each status's text, looked up per report (``status.value`` is a Python-level
# property on Enum members)
_TEXT = {s: s.value for s in FeedbackStatus}
_SIDE_TEXT = {s: s.value for s in Side}


class FillRecord(msgspec.Struct, frozen=True, gc=False):
    """One fill, as ``trades.csv`` writes it. The records are structs: one is built
    per fill, order or sample, and a struct builds several times faster than a
    dataclass."""

    portfolio_id: str
    client_order_id: str
    fill_id: str
    symbol: str
    side: str
    quantity: Decimal
    price: Decimal
    commission: Decimal
    ts_ns: int
    commission_asset: str = ""  # what ``commission`` was charged in, by name (``fees.asset_name``)
    fee_kind: FeeKind = FeeKind.QUOTE  # how it was booked (``domain/fees.py``)

    @property
    def quote_commission(self) -> Decimal:
        """The commission's value in the quote, as the books carry it in ``commissions``."""
        if self.fee_kind is FeeKind.QUOTE:
            return self.commission
        return self.commission * self.price if self.fee_kind is FeeKind.BASE else ZERO

    @property
    def position_change(self) -> Decimal:
        """What the fill moved the position by: its quantity, less a fee the venue kept of the base."""
        signed = self.quantity if self.side == "buy" else -self.quantity
        return signed - self.commission if self.fee_kind is FeeKind.BASE else signed


def fill_record(fb: OrderFeedback, symbol: str, side: str, currency: str) -> FillRecord:
    """A fill report as a trades-file record (``fill_id``, quantity and price present)."""
    assert fb.fill_qty is not None and fb.fill_price is not None
    return FillRecord(
        fb.portfolio_id,
        fb.client_order_id,
        fb.fill_id or "",
        symbol,
        side,
        fb.fill_qty,
        fb.fill_price,
        fb.commission,
        fb.ts_ns,
        asset_name(symbol, fb.commission_asset, currency),
        fee_kind(symbol, fb.commission_asset),
    )


class OrderRecord(msgspec.Struct, gc=False):
    """One order and, once final, how it ended (``orders.csv``)."""

    order: NewOrder
    status: str = "created"
    filled_qty: Decimal = ZERO
    notional: Decimal = ZERO
    commission: Decimal = ZERO
    reason: str = ""
    updated_ns: int = 0

    @property
    def average_price(self) -> Decimal | None:
        return self.notional / self.filled_qty if self.filled_qty else None


class EquityPoint(msgspec.Struct, frozen=True, gc=False):
    """A portfolio's account at the end of one event time (``equity.csv``)."""

    portfolio_id: str
    ts_ns: int
    equity: Decimal
    cash: Decimal
    positions_value: Decimal


@dataclass(slots=True)
class Records:
    """Everything one run produced, in the order it happened."""

    fills: list[FillRecord] = field(default_factory=list)
    orders: dict[str, OrderRecord] = field(default_factory=dict)
    equity: list[EquityPoint] = field(default_factory=list)
    currencies: dict[str, str] = field(default_factory=dict)  # portfolio id -> its currency (the quote)
    # (portfolio id, symbol, commission asset) -> (asset name, fee kind) of its fills
    _fees: dict[tuple[str, str, str], tuple[str, FeeKind]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def order_sent(self, order: NewOrder) -> None:
        self.orders[order.client_order_id] = OrderRecord(order=order, updated_ns=order.created_ns)

    def report(self, fb: OrderFeedback) -> None:
        """Follow an execution report; fills are kept once per fill id (the broker
        numbers them, so a repeat cannot occur, but a fill is never counted twice)."""
        record = self.orders.get(fb.client_order_id)
        if record is None:
            return
        status = fb.status
        record.status = _TEXT[status]
        record.updated_ns = fb.ts_ns
        if fb.reason:
            record.reason = fb.reason
        qty, price = fb.fill_qty, fb.fill_price
        if qty is not None and price is not None and status in FILL_STATUSES:
            record.filled_qty += qty
            record.notional += qty * price
            record.commission += fb.commission
            self.fills.append(self._fill(fb, record.order, qty, price))

    def _fill(self, fb: OrderFeedback, order: NewOrder, qty: Decimal, price: Decimal) -> FillRecord:
        """``fill_record``, with the commission's asset and kind worked out once per
        portfolio, symbol and asset (they depend on nothing else)."""
        symbol, asset = order.symbol, fb.commission_asset
        key = (fb.portfolio_id, symbol, asset)
        fee = self._fees.get(key)
        if fee is None:
            currency = self.currencies.get(fb.portfolio_id, "")
            fee = self._fees[key] = (asset_name(symbol, asset, currency), fee_kind(symbol, asset))
        pid, side = fb.portfolio_id, _SIDE_TEXT[order.side]
        return FillRecord(
            pid, fb.client_order_id, fb.fill_id or "", symbol, side, qty, price, fb.commission, fb.ts_ns, *fee
        )

    def unsettled(self) -> list[OrderRecord]:
        """Orders without a final status (none after a finished run)."""
        return [r for r in self.orders.values() if r.status not in FINAL]
