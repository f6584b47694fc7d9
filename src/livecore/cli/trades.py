"""`livecore trades export`: the gateway journal's fills as a trades file
(CSV or Parquet), in the columns of a backtest's ``trades.csv``.

Reads only ``--db``. CSV goes to stdout unless ``--out`` names a file; Parquet
needs ``--out``. A file is written beside its path and renamed over it, so an
export that fails leaves no half file.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console

from livecore.adapters.factory import open_store
from livecore.backtest.tradefile import TradeFormat, write_csv, write_trades
from livecore.cli.context import settings_of
from livecore.errors import ConfigError
from livecore.ops.trades import journal_fills, parse_since, registered_currencies

app = typer.Typer(help="The trades (fills) the gateway journaled.", no_args_is_help=True)


@app.command("export")
def export(
    ctx: typer.Context,
    fmt: TradeFormat = typer.Option(
        TradeFormat.CSV, "--format", help="csv (exact decimal text) or parquet (decimal128(38, 12), ts in ns UTC)"
    ),
    portfolios: list[str] | None = typer.Option(
        None, "--portfolio", metavar="ID", help="only this portfolio (repeat for several)", show_default=False
    ),
    since: str | None = typer.Option(
        None,
        "--since",
        metavar="WHEN",
        help="only fills at or after this ISO-8601 date or datetime (UTC unless it has an offset)",
        show_default=False,
    ),
    out: Path | None = typer.Option(
        None, "--out", metavar="PATH", help="write to this file (default: stdout, CSV only)", show_default=False
    ),
) -> None:
    """Export the journaled fills: portfolio, order, fill id, symbol, side, quantity, price, commission and
    its asset, time."""
    if fmt is TradeFormat.PARQUET and out is None:
        raise ConfigError("--format parquet needs --out PATH (Parquet is not written to a terminal)")
    since_ns = parse_since(since) if since is not None else None
    store = open_store(settings_of(ctx).db_url)
    try:
        currencies = registered_currencies(store.registry)
        fills = journal_fills(store.journal, portfolios=portfolios or (), since_ns=since_ns, currencies=currencies)
    finally:
        store.close()
    if out is None:
        write_csv(sys.stdout, fills)
        return
    count = write_trades(out, fills, fmt)
    Console(stderr=True).print(f"{count} fills written to {out} ({fmt.value})", highlight=False, soft_wrap=True)
