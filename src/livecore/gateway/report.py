"""The journal as operators read it: one row per order, one row per fill.

Pure: built from ``Journal.orders`` and ``Journal.feedback``; ``as_json`` is a
stable, documented shape (Decimals as strings, sorted keys when dumped).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from livecore.ports.store import JournalFeedback, JournalOrder
from livecore.wire.messages import FILL_STATUSES

_PRICE = Decimal("0.0001")


@dataclass(frozen=True, slots=True)
class OrderRow:
    client_order_id: str
    portfolio_id: str
    epoch: int
    node_id: str
    symbol: str
    side: str
    quantity: Decimal
    order_type: str
    limit_price: Decimal | None
    time_in_force: str
    received_ns: int
    status: str  # last outcome, or "pending" when none is journaled yet
    filled_qty: Decimal
    avg_price: Decimal | None
    commission: Decimal
    reason: str | None


@dataclass(frozen=True, slots=True)
class FillRow:
    seq: int
    fill_id: str
    client_order_id: str
    portfolio_id: str
    symbol: str
    side: str
    qty: Decimal
    price: Decimal
    commission: Decimal
    ts_ns: int
    commission_asset: str = ""  # empty: the quote


@dataclass(frozen=True, slots=True)
class JournalReport:
    orders: list[OrderRow]
    fills: list[FillRow]

    def as_json(self) -> dict[str, Any]:
        return {
            "orders": [_plain(row) for row in self.orders],
            "fills": [_plain(row) for row in self.fills],
        }


def _plain(row: OrderRow | FillRow) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in row.__slots__:
        value = getattr(row, name)
        out[name] = str(value) if isinstance(value, Decimal) else value
    return out


def journal_report(orders: Sequence[JournalOrder], feedback: Sequence[JournalFeedback]) -> JournalReport:
    by_order: dict[str, list[JournalFeedback]] = {}
    for entry in feedback:
        by_order.setdefault(entry.feedback.client_order_id, []).append(entry)
    fills: list[FillRow] = []
    for entry in feedback:
        fb = entry.feedback
        if fb.status in FILL_STATUSES and fb.fill_id and fb.fill_qty is not None and fb.fill_price is not None:
            fills.append(
                FillRow(
                    seq=entry.seq,
                    fill_id=fb.fill_id,
                    client_order_id=fb.client_order_id,
                    portfolio_id=fb.portfolio_id,
                    symbol=fb.symbol,
                    side=fb.side.value if fb.side else "",
                    qty=fb.fill_qty,
                    price=fb.fill_price,
                    commission=fb.commission,
                    ts_ns=fb.ts_ns,
                    commission_asset=fb.commission_asset,
                )
            )
    rows: list[OrderRow] = []
    for journaled in orders:
        order = journaled.order
        history = [e.feedback for e in by_order.get(order.client_order_id, [])]
        order_fills = [fb for fb in history if fb.status in FILL_STATUSES]
        filled = sum((fb.fill_qty or Decimal(0) for fb in order_fills), Decimal(0))
        value = sum(((fb.fill_qty or 0) * (fb.fill_price or 0) for fb in order_fills), Decimal(0))
        last = history[-1] if history else None
        rows.append(
            OrderRow(
                client_order_id=order.client_order_id,
                portfolio_id=order.portfolio_id,
                epoch=order.epoch,
                node_id=order.node_id,
                symbol=order.symbol,
                side=order.side.value,
                quantity=order.quantity,
                order_type=order.order_type.value,
                limit_price=order.limit_price,
                time_in_force=order.time_in_force.value,
                received_ns=journaled.received_ns,
                status=last.status.value if last else "pending",
                filled_qty=filled,
                avg_price=(value / filled).quantize(_PRICE) if filled else None,
                commission=sum((fb.commission for fb in order_fills), Decimal(0)),
                reason=next((fb.reason for fb in reversed(history) if fb.reason), None),
            )
        )
    return JournalReport(orders=rows, fills=fills)
