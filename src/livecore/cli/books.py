"""`livecore books check`: every portfolio's latest snapshot against the gateway journal.

For separate-process clusters what ``livecore run`` prints at its end (one
implementation: ``ops/books.py``). Exit 0 when every portfolio is OK or only has
fills in flight, 1 on a mismatch (a lost fill or books that differ).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import msgspec
import typer
from rich.console import Console
from rich.table import Table

from livecore.adapters.factory import open_store
from livecore.cli.context import settings_of
from livecore.cli.status import JSON_HELP, emit_json
from livecore.ops.books import DEFAULT_SETTLE_S, IN_FLIGHT, MISMATCH, BooksCheck, check_snapshots

app = typer.Typer(help="Check the portfolios' books against the gateway journal.", no_args_is_help=True)

_COLUMNS = [
    "portfolio",
    "status",
    "cash (snapshot)",
    "cash (journal)",
    "positions (snapshot)",
    "positions (journal)",
    "fills",
]
_COLOUR = {"OK": "green", IN_FLIGHT: "yellow", MISMATCH: "red"}


class BooksReport(msgspec.Struct, frozen=True, kw_only=True):
    """The ``--json`` shape."""

    settle_s: float
    mismatches: int
    portfolios: list[BooksCheck]


def _positions(positions: Mapping[str, Decimal]) -> str:
    return ", ".join(f"{symbol} {qty}" for symbol, qty in positions.items()) or "-"


def books_table(checks: list[BooksCheck]) -> Table:
    table = Table(title="books vs gateway journal", title_justify="left")
    for column in _COLUMNS:
        table.add_column(column)
    for c in checks:
        colour = _COLOUR[c.status]
        held_cash = c.snapshot_cash if c.snapshot_cash is not None else c.cash
        held = c.snapshot_positions if c.snapshot_cash is not None else c.positions
        table.add_row(
            c.portfolio_id,
            f"[{colour}]{c.status}[/]",
            str(held_cash),
            str(c.journal_cash),
            _positions(held),
            _positions(c.journal_positions),
            str(c.journal_fills),
        )
    return table


def detail_lines(checks: list[BooksCheck]) -> list[str]:
    """One line per thing to look at: in-flight and lost fill ids, differing books."""
    lines = []
    for c in checks:
        if c.in_flight_fill_ids:
            lines.append(f"[yellow]{c.portfolio_id}: in flight: {', '.join(c.in_flight_fill_ids)}[/]")
        if c.lost_fill_ids:
            lines.append(
                f"[red]{c.portfolio_id}: LOST (journaled, not in the snapshot): {', '.join(c.lost_fill_ids)}[/]"
            )
        if not c.matches:
            lines.append(
                f"[red]{c.portfolio_id}: reconciled with the journal it still differs: cash {c.cash} vs "
                f"{c.journal_cash}; positions {_positions(c.positions)} vs {_positions(c.journal_positions)}[/]"
            )
    return lines


@app.command("check")
def check(
    ctx: typer.Context,
    settle: float = typer.Option(
        DEFAULT_SETTLE_S, "--settle", min=0.0, help="seconds a fill may take to reach a snapshot before it is lost"
    ),
    json_out: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Each portfolio's latest snapshot vs the gateway journal: OK, IN_FLIGHT or MISMATCH."""
    store = open_store(settings_of(ctx).db_url)
    try:
        checks = check_snapshots(store, settle_s=settle)
    finally:
        store.close()
    mismatches = sum(1 for c in checks if c.status == MISMATCH)
    if json_out:
        emit_json(BooksReport(settle_s=settle, mismatches=mismatches, portfolios=checks))
    else:
        console = Console(width=160)
        console.print(books_table(checks), highlight=False)
        for line in detail_lines(checks):
            console.print(line, highlight=False)
    if mismatches:
        raise typer.Exit(1)
