"""The files of a backtest: ``trades.csv`` (``tradefile.py``: the live export's
format too), ``orders.csv``, ``equity.csv``, ``stats.json`` and ``report.html``. Deterministic: the same run writes the
same bytes (no wall-clock time, sorted keys, exact decimals as text)."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from livecore.backtest.engine import BacktestResult
from livecore.backtest.records import OrderRecord
from livecore.backtest.report import render_report
from livecore.backtest.stats import Stats, iso
from livecore.backtest.tradefile import TRADE_COLUMNS, trade_row

ORDER_COLUMNS = (
    "portfolio_id",
    "client_order_id",
    "symbol",
    "side",
    "order_type",
    "quantity",
    "limit_price",
    "time_in_force",
    "created",
    "status",
    "filled_quantity",
    "average_price",
    "commission",
    "reason",
    "updated",
)
_PRICE_PLACES = Decimal("1e-8")  # an average fill price: 8 places suffice to read it
EQUITY_COLUMNS = ("portfolio_id", "ts", "equity", "cash", "positions_value")


def _write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _order_row(record: OrderRecord) -> tuple[object, ...]:
    order = record.order
    average = record.average_price
    return (
        order.portfolio_id,
        order.client_order_id,
        order.symbol,
        order.side.value,
        order.order_type.value,
        order.quantity,
        "" if order.limit_price is None else order.limit_price,
        order.time_in_force.value,
        iso(order.created_ns),
        record.status,
        record.filled_qty,
        "" if average is None else average.quantize(_PRICE_PLACES),
        record.commission,
        record.reason,
        iso(record.updated_ns),
    )


def write_outputs(out: Path, result: BacktestResult, stats: Sequence[Stats], run: dict[str, Any]) -> None:
    """Every file of one run into ``out`` (created if needed)."""
    out.mkdir(parents=True, exist_ok=True)
    records = result.records
    _write_csv(out / "trades.csv", TRADE_COLUMNS, [trade_row(f) for f in records.fills])
    order_rows = [_order_row(record) for record in records.orders.values()]
    _write_csv(out / "orders.csv", ORDER_COLUMNS, order_rows)
    _write_csv(
        out / "equity.csv",
        EQUITY_COLUMNS,
        [(p.portfolio_id, iso(p.ts_ns), p.equity, p.cash, p.positions_value) for p in records.equity],
    )
    document = {"run": run, "portfolios": {s.portfolio_id: s.to_dict() for s in stats}}
    (out / "stats.json").write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    (out / "report.html").write_text(render_report(result, stats, run), encoding="utf-8")
