"""What a backtest keeps: every fill, every order with its final state, and each
portfolio's equity at every event time that touched it. Built from the same execution reports
the live gateway publishes, so the records mean what the journal means."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import msgspec

from livecore.wire.messages import FILL_STATUSES, FeedbackStatus, NewOrder, OrderFeedback

ZERO = Decimal(0)
FINAL = frozenset(s.value for s in (FeedbackStatus.FILLED, FeedbackStatus.REJECTED, FeedbackStatus.CANCELLED))


@dataclass(frozen=True, slots=True)
class FillRecord:
    """One fill, as ``trades.csv`` writes it."""

    portfolio_id: str
    client_order_id: str
    fill_id: str
    symbol: str
    side: str
    quantity: Decimal
    price: Decimal
    commission: Decimal
    ts_ns: int


@dataclass(slots=True)
class OrderRecord:
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


class EquityPoint(msgspec.Struct, frozen=True):
    """A portfolio's account at the end of one event time (``equity.csv``). A struct:
    one is built per portfolio and event time, and it builds several times faster
    than a frozen dataclass."""

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
        record.status = fb.status.value
        record.updated_ns = fb.ts_ns
        if fb.reason:
            record.reason = fb.reason
        if fb.status in FILL_STATUSES and fb.fill_qty is not None and fb.fill_price is not None:
            record.filled_qty += fb.fill_qty
            record.notional += fb.fill_qty * fb.fill_price
            record.commission += fb.commission
            self.fills.append(
                FillRecord(
                    portfolio_id=fb.portfolio_id,
                    client_order_id=fb.client_order_id,
                    fill_id=fb.fill_id or "",
                    symbol=record.order.symbol,
                    side=record.order.side.value,
                    quantity=fb.fill_qty,
                    price=fb.fill_price,
                    commission=fb.commission,
                    ts_ns=fb.ts_ns,
                )
            )

    def unsettled(self) -> list[OrderRecord]:
        """Orders without a final status (none after a finished run)."""
        return [r for r in self.orders.values() if r.status not in FINAL]
