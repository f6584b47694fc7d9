"""The orders and fills of a run in one comparable shape, from a backtest's files
(``orders.csv``, ``trades.csv``) or from a gateway journal: what the parity of
``livecore backtest`` and ``livecore run --event-time --speed 0 --no-loop`` is
checked on (client order ids, sides, quantities, prices, event timestamps,
final states)."""

from __future__ import annotations

import csv
from collections.abc import Collection
from decimal import Decimal
from pathlib import Path

from livecore.backtest.stats import iso
from livecore.ports.store import Store
from livecore.wire.messages import FILL_STATUSES, OrderFeedback

OrderRow = tuple[str, ...]  # portfolio, id, symbol, side, type, qty, limit, created, status, filled, reason
FillRow = tuple[str, ...]  # id, fill id, symbol, side, qty, price, commission, ts


def _num(text: str) -> str:
    """One spelling per value: ``10``, ``10.0`` and ``1E+1`` compare equal."""
    return "" if text == "" else str(Decimal(text).normalize())


def backtest_rows(out: Path) -> tuple[list[OrderRow], list[FillRow]]:
    """Orders and fills from a backtest's output folder, sorted."""
    with (out / "orders.csv").open(encoding="utf-8") as handle:
        orders = [
            (
                r["portfolio_id"],
                r["client_order_id"],
                r["symbol"],
                r["side"],
                r["order_type"],
                _num(r["quantity"]),
                _num(r["limit_price"]),
                r["created"],
                r["status"],
                _num(r["filled_quantity"]),
                r["reason"],
            )
            for r in csv.DictReader(handle)
        ]
    with (out / "trades.csv").open(encoding="utf-8") as handle:
        fills = [
            (
                r["client_order_id"],
                r["fill_id"],
                r["symbol"],
                r["side"],
                _num(r["quantity"]),
                _num(r["price"]),
                _num(r["commission"]),
                r["ts"],
            )
            for r in csv.DictReader(handle)
        ]
    return sorted(orders), sorted(fills)


def journal_rows(store: Store, portfolio_ids: Collection[str]) -> tuple[list[OrderRow], list[FillRow]]:
    """The same rows from the gateway journal, for ``portfolio_ids`` only."""
    last: dict[str, OrderFeedback] = {}
    fills: list[FillRow] = []
    for entry in store.journal.feedback():
        fb = entry.feedback
        if fb.portfolio_id not in portfolio_ids:
            continue
        last[fb.client_order_id] = fb
        if fb.status in FILL_STATUSES:
            assert fb.side is not None and fb.fill_id is not None
            fills.append(
                (
                    fb.client_order_id,
                    fb.fill_id,
                    fb.symbol,
                    fb.side.value,
                    _num(str(fb.fill_qty)),
                    _num(str(fb.fill_price)),
                    _num(str(fb.commission)),
                    iso(fb.ts_ns),
                )
            )
    orders: list[OrderRow] = []
    for journaled in store.journal.orders():
        order = journaled.order
        if order.portfolio_id not in portfolio_ids:
            continue
        final = last.get(order.client_order_id)
        orders.append(
            (
                order.portfolio_id,
                order.client_order_id,
                order.symbol,
                order.side.value,
                order.order_type.value,
                _num(str(order.quantity)),
                "" if order.limit_price is None else _num(str(order.limit_price)),
                iso(order.created_ns),
                "" if final is None else final.status.value,
                "0" if final is None else _num(str(final.cumulative_qty)),
                "" if final is None or final.reason is None else final.reason,
            )
        )
    return sorted(orders), sorted(fills)
