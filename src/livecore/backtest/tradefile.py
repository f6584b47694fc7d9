"""The trades file: one row per fill, the same columns wherever the fills come from.

``livecore backtest`` writes it as ``trades.csv`` from its records, ``livecore
trades export`` and ``livecore gateway journal --csv`` from the gateway journal
(``ops/trades.py``), so one reader takes both.

- ``commission`` is charged in ``commission_asset``, by name: the symbol's
  quote (or the portfolio's currency for a plain symbol) unless the fill says
  otherwise (a venue, or a paper or backtest fee asset: the bought base, a
  third asset); negative for a rebate.
- CSV: every decimal as its exact text in fixed-point notation (never a
  float, never an exponent), ``ts`` as ISO-8601 UTC
  with the data's precision (``iso``), ``\\n`` line ends.
- Parquet: the same columns, typed. Ids and names are strings; ``quantity``,
  ``price`` and ``commission`` are ``decimal128(38, 12)``: exact, because the
  wire allows at most ``MAX_SCALE`` (12) decimal places, and read as decimals by
  pyarrow, pandas, polars and DuckDB alike (strings would need a cast in every
  one). Its 26 integer digits hold every price and quantity the wire allows
  (< 1e15); a commission of 1e26 or more, which the wire allows but no cost
  model comes near, is refused with the fill's id rather than rounded (export
  such a journal as CSV). ``ts`` is ``timestamp[ns, UTC]``, exact to the
  nanosecond.

pyarrow is imported only when Parquet is written.
"""

from __future__ import annotations

import csv
import enum
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TextIO

from livecore.backtest.records import FillRecord
from livecore.backtest.stats import iso
from livecore.errors import LivecoreError
from livecore.wire.bounds import MAX_SCALE

TRADE_COLUMNS = (
    "portfolio_id",
    "client_order_id",
    "fill_id",
    "symbol",
    "side",
    "quantity",
    "price",
    "commission",
    "commission_asset",
    "ts",
)
_STRING_COLUMNS = (*TRADE_COLUMNS[:5], "commission_asset")
_DECIMAL_COLUMNS = ("quantity", "price", "commission")
DECIMAL_PRECISION = 38  # the most decimal128 holds
_DECIMAL_LIMIT = Decimal(10) ** (DECIMAL_PRECISION - MAX_SCALE)


class TradeFormat(enum.StrEnum):
    """The formats a trades file is written in."""

    CSV = "csv"
    PARQUET = "parquet"


class TradeFileError(LivecoreError):
    """A fill cannot be written exactly in the chosen format."""


def trade_row(fill: FillRecord) -> tuple[str, ...]:
    """One CSV row, in ``TRADE_COLUMNS`` order: decimals exact, in fixed-point notation
    (``0.000000000001``, never ``1E-12``, which some readers take for a float)."""
    return (
        fill.portfolio_id,
        fill.client_order_id,
        fill.fill_id,
        fill.symbol,
        fill.side,
        f"{fill.quantity:f}",
        f"{fill.price:f}",
        f"{fill.commission:f}",
        fill.commission_asset,
        iso(fill.ts_ns),
    )


def write_csv(handle: TextIO, fills: Iterable[FillRecord]) -> int:
    """The header and one row per fill into ``handle`` (opened with ``newline=""``); returns the row count."""
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(TRADE_COLUMNS)
    count = 0
    for fill in fills:
        writer.writerow(trade_row(fill))
        count += 1
    return count


def _checked(fill: FillRecord, column: str) -> Decimal:
    """``fill``'s decimal ``column`` if the Parquet decimal holds it exactly (the scale as
    written, as the wire counts it; ``copy_abs``: ``abs`` would round to the context)."""
    value: Decimal = getattr(fill, column)
    exponent = value.as_tuple().exponent
    scale_ok = isinstance(exponent, int) and exponent >= -MAX_SCALE
    if not (value.is_finite() and scale_ok and value.copy_abs() < _DECIMAL_LIMIT):
        raise TradeFileError(
            f"fill {fill.fill_id}: {column} {value} does not fit Parquet decimal128({DECIMAL_PRECISION}, "
            f"{MAX_SCALE}) exactly; export as CSV"
        )
    return value


def write_parquet(path: Path, fills: Sequence[FillRecord]) -> int:
    """Every fill into a Parquet file at ``path``; returns the row count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    decimal = pa.decimal128(DECIMAL_PRECISION, MAX_SCALE)
    columns: dict[str, pa.Array] = {
        name: pa.array([getattr(f, name) for f in fills], type=pa.string()) for name in _STRING_COLUMNS
    }
    for name in _DECIMAL_COLUMNS:
        columns[name] = pa.array([_checked(f, name) for f in fills], type=decimal)
    columns["ts"] = pa.array([f.ts_ns for f in fills], type=pa.timestamp("ns", tz="UTC"))
    table = pa.table({name: columns[name] for name in TRADE_COLUMNS})
    pq.write_table(table, path)
    return int(table.num_rows)


def write_trades(path: Path, fills: Sequence[FillRecord], fmt: TradeFormat) -> int:
    """``fills`` into ``path`` in ``fmt``, whole or not at all: written beside it, then renamed over it."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        if fmt is TradeFormat.PARQUET:
            count = write_parquet(partial, fills)
        else:
            with partial.open("w", newline="", encoding="utf-8") as handle:
                count = write_csv(handle, fills)
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return count
