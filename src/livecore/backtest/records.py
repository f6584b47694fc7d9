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
        if status in FILL_STATUSES and qty is not None and price is not None:
            record.filled_qty += qty
            record.notional += qty * price
            record.commission += fb.commission
            order = record.order
            self.fills.append(
                FillRecord(
                    fb.portfolio_id,
                    fb.client_order_id,
                    fb.fill_id or "",
                    order.symbol,
                    _SIDE_TEXT[order.side],
                    qty,
                    price,
                    fb.commission,
                    fb.ts_ns,
                )
            )

    def unsettled(self) -> list[OrderRecord]:
        """Orders without a final status (none after a finished run)."""
        return [r for r in self.orders.values() if r.status not in FINAL]
