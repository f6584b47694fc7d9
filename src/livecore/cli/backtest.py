"""``livecore backtest``: run portfolio specs over history in event time and
write trades, orders, equity, statistics and an HTML report (docs/BACKTEST.md)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from livecore.backtest.report import STAT_LABELS, format_stat
from livecore.backtest.runner import BacktestOutcome, BacktestRequest, run_backtest, write
from livecore.backtest.stats import Stats
from livecore.backtest.sweep import SweepRow, fragment, parse_grid, ranked, sweep, write_sweep
from livecore.cli import costs
from livecore.cli.status import JSON_HELP, emit_json

DEFAULT_ROOT = Path(".livecore/backtests")


def fresh_folder(root: Path) -> Path:
    """``root/run-NNN``, the first number not taken (no clock: runs are reproducible)."""
    taken = {p.name for p in root.glob("run-*")} if root.exists() else set()
    n = 1
    while f"run-{n:03d}" in taken:
        n += 1
    return root / f"run-{n:03d}"


def stats_table(stats: Stats) -> Table:
    table = Table(title=stats.portfolio_id, title_justify="left", show_header=False)
    table.add_column("statistic")
    table.add_column("value", justify="right")
    values = stats.to_dict()
    table.add_row("period", f"{stats.start[:10]} .. {stats.end[:10]}")
    for key, label, kind in STAT_LABELS:
        table.add_row(label, format_stat(values[key], kind))
    return table


def _run_with_progress(request: BacktestRequest, console: Console, quiet: bool) -> BacktestOutcome:
    if quiet:
        return run_backtest(request)
    columns = (TextColumn("backtest"), BarColumn(), TextColumn("{task.completed:,} events"), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("events", total=None)
        return run_backtest(request, progress=lambda n: bar.update(task, completed=n))


def backtest(
    specs: list[Path] = typer.Argument(..., metavar="SPEC_OR_DIR...", help="portfolio spec files or directories"),
    data: Path | None = typer.Option(None, "--data", help="CSV/CSV.gz/Parquet file or directory (default: bundled)"),
    start: str | None = typer.Option(None, "--start", metavar="DATE", help="first date (or ISO time) to use"),
    end: str | None = typer.Option(None, "--end", metavar="DATE", help="last date (inclusive) or ISO time"),
    slippage_bps: str = costs.SLIPPAGE_BPS,
    commission_per_share: str = costs.COMMISSION_PER_SHARE,
    commission_bps: str = costs.COMMISSION_BPS,
    commission_min: str = costs.COMMISSION_MIN,
    participation: str | None = costs.PARTICIPATION,
    fee_asset: str = costs.FEE_ASSET,
    fee_asset_price: str | None = costs.FEE_ASSET_PRICE,
    params: list[str] = typer.Option(
        [], "--param", metavar="NAME=V1,V2,...", help="sweep a strategy parameter (repeat for a grid; one spec)"
    ),
    sort: str = typer.Option("sharpe", "--sort", metavar="STAT", help="the statistic a sweep is ranked by"),
    out: Path | None = typer.Option(None, "--out", metavar="DIR", help="output folder (default: a fresh one)"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar and no tables"),
) -> None:
    """Backtest portfolio specs: the live strategy, books and paper fill model, in event time."""
    paper = costs.paper_settings(
        slippage_bps=slippage_bps,
        commission_per_share=commission_per_share,
        commission_bps=commission_bps,
        commission_min=commission_min,
        participation=participation,
        fee_asset=fee_asset,
        fee_asset_price=fee_asset_price,
    )
    request = BacktestRequest(specs=specs, data=data, start=start, end=end, paper=paper)
    if params:
        run_sweep(request, grid=parse_grid(params), sort=sort, out=out or fresh_folder(DEFAULT_ROOT), as_json=as_json)
        return
    console = Console(stderr=True)
    outcome = _run_with_progress(request, console, quiet or as_json)
    folder = out or fresh_folder(DEFAULT_ROOT)
    write(outcome, folder)
    if as_json:
        emit_json({"out": str(folder), "run": outcome.run, "portfolios": [s.to_dict() for s in outcome.stats]})
        return
    if quiet:
        return
    stdout = Console()
    for item in outcome.stats:
        stdout.print(stats_table(item))
    for pid, fault in outcome.run["faults"].items():
        stdout.print(f"[red]{pid} faulted:[/] {fault}", highlight=False)
    stdout.print(f"results in {folder} (report.html, trades.csv, orders.csv, equity.csv, stats.json)", highlight=False)


_SWEEP_STATS = (("sharpe", "Sharpe", "num"), ("total_return", "return", "pct"), ("max_drawdown", "max DD", "pct"))
_SWEEP_MORE = (("trades", "trades", "int"), ("win_rate", "win rate", "pct"))


def run_sweep(request: BacktestRequest, *, grid: dict[str, list[object]], sort: str, out: Path, as_json: bool) -> None:
    """Every combination, ranked by ``sort``; the best one's spec lines last."""
    rows = ranked(sweep(request, grid), sort)
    write_sweep(out / "sweep.csv", rows, list(grid))
    if as_json:
        emit_json([{"params": r.params, "stats": r.stats and r.stats.to_dict(), "problem": r.problem} for r in rows])
        return
    console = Console()
    console.print(sweep_table(rows, list(grid), sort))
    if rows and rows[0].stats is not None:
        console.print(f"best by {sort}:\n{fragment(rows[0].params)}", highlight=False, markup=False)
    console.print(f"results in {out / 'sweep.csv'}", highlight=False)


def sweep_table(rows: list[SweepRow], names: list[str], sort: str) -> Table:
    table = Table(title=f"sweep, best {sort} first", title_justify="left")
    columns = [*_SWEEP_STATS, *_SWEEP_MORE]
    for name in names:
        table.add_column(name)
    for _, label, _ in columns:
        table.add_column(label, justify="right")
    for row in rows:
        cells = [str(row.params[n]) for n in names]
        if row.stats is None:
            table.add_row(*cells, f"[yellow]not run: {row.problem}[/]", *([""] * (len(columns) - 1)))
            continue
        values = row.stats.to_dict()
        table.add_row(*cells, *(format_stat(values[key], kind) for key, _, kind in columns))
    return table
