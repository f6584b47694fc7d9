"""The status tables, fitted to the terminal: a narrow terminal drops whole
columns, least important first, and never cuts a cell. Money, ids and counts
are never wrapped or shortened with an ellipsis; only free text (positions,
problems) may wrap, at its separators."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from rich.table import Table
from rich.text import Text

from livecore.ops.status import NodeRow, PortfolioStatus, StatusReport

_PADDING = 3  # a column's borders and padding, in cells
_FOLD_MIN = 12  # the narrowest a wrapping column is allowed to get


@dataclass(frozen=True, slots=True)
class Column:
    """``rank``: 0 is kept longest; ``fold``: free text that may wrap."""

    header: str
    rank: int
    justify: str = "left"
    fold: bool = False


def money(value: str | None) -> str:
    """Display form of a decimal amount: grouped, two places (the JSON keeps every digit)."""
    if value is None:
        return "-"
    try:
        return f"{Decimal(value):,.2f}"
    except InvalidOperation:
        return value


def num(value: float | int | None, fmt: str = "{:g}") -> str:
    return "-" if value is None else fmt.format(value)


def _cell_width(cell: str) -> int:
    return Text.from_markup(cell).cell_len


def fitted(title: str, columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int) -> Table:
    """A table of the columns that fit in ``width``, chosen by rank, shown in
    their given order; each kept column as wide as its widest cell."""
    widths = [max([_cell_width(c.header)] + [_cell_width(row[i]) for row in rows]) for i, c in enumerate(columns)]
    kept: set[int] = set()
    used = 1
    for i in sorted(range(len(columns)), key=lambda i: columns[i].rank):
        need = (min(widths[i], _FOLD_MIN) if columns[i].fold else widths[i]) + _PADDING
        if used + need <= width or not kept:
            kept.add(i)
            used += need
    table = Table(title=title, title_justify="left")
    order = [i for i in range(len(columns)) if i in kept]
    for i in order:
        c = columns[i]
        if c.fold:
            table.add_column(c.header, justify=c.justify, overflow="fold")  # type: ignore[arg-type]
        else:
            table.add_column(c.header, justify=c.justify, no_wrap=True, min_width=widths[i])  # type: ignore[arg-type]
    for row in rows:
        table.add_row(*(row[i] for i in order))
    return table


NODE_COLUMNS = (
    Column("node", 0),
    Column("state", 1),
    Column("heartbeat age", 3, "right"),
    Column("portfolios", 2, "right"),
    Column("queue", 6, "right"),
    Column("cpu %", 5, "right"),
    Column("memory MiB", 8, "right"),
    Column("backpressure", 9, "right"),
    Column("read amp.", 7, "right"),
    Column("partitions", 10, "right"),
    Column("bus", 4, fold=True),
)
PROBLEMS = Column("problems", 4, fold=True)

PORTFOLIO_COLUMNS = (
    Column("portfolio", 0),
    Column("node", 3),
    Column("epoch", 6, "right"),
    Column("state", 2, fold=True),
    Column("equity", 1, "right"),
    Column("cash", 5, "right"),
    Column("positions", 4, fold=True),
    Column("last order", 7),
)


def _bus(ok: bool | None, reason: str | None) -> str:
    if ok is None:
        return "-"
    return "ok" if ok else f"[red]degraded: {reason}[/]"


def _partitions(read: int | None, total: int | None) -> str:
    """``3/8``: market.data partitions the node reads, of the topic's."""
    if read is None:
        return "-"
    return f"{read}/{total}" if total is not None else str(read)


def _problems(counters: dict[str, int]) -> str:
    if not counters:
        return "-"
    return "[red]" + ", ".join(f"{name} {count}" for name, count in sorted(counters.items())) + "[/]"


def _node_row(n: NodeRow, with_problems: bool) -> list[str]:
    state = n.state if n.alive else "[red]dead[/]"
    count = "-" if n.portfolio_count is None else f"{n.portfolio_count}/{num(n.capacity)}"
    row = [
        n.node_id,
        state,
        num(n.heartbeat_age_s, "{:.1f}s"),
        count,
        num(n.queue_size),
        num(n.cpu_usage, "{:.1f}"),
        num(None if n.memory_usage is None else n.memory_usage / 2**20, "{:.0f}"),
        num(n.backpressure_count),
        num(n.read_amplification, "{:.2f}"),
        _partitions(n.market_partitions, n.market_partitions_total),
        _bus(n.bus_ok, n.bus_reason),
    ]
    return [*row, _problems(n.problems)] if with_problems else row


def nodes_table(report: StatusReport, width: int) -> Table:
    with_problems = any(n.problems for n in report.nodes)  # the column only when a counter is non-zero
    columns = (*NODE_COLUMNS, PROBLEMS) if with_problems else NODE_COLUMNS
    return fitted("nodes", columns, [_node_row(n, with_problems) for n in report.nodes], width)


def _portfolio_row(p: PortfolioStatus) -> list[str]:
    positions = ", ".join(f"{sym} {pos.quantity}" for sym, pos in sorted(p.positions.items()))
    state = p.state if p.state in ("running", "stopped") else f"[yellow]{p.state}[/]"
    if p.fault:
        state += f" ({p.fault})"
    return [
        p.portfolio_id,
        p.node_id or "-",
        str(p.epoch),
        state,
        money(p.equity),
        money(p.cash),
        positions or "-",
        p.last_order_id or "-",
    ]


def portfolios_table(report: StatusReport, width: int) -> Table:
    return fitted("portfolios", PORTFOLIO_COLUMNS, [_portfolio_row(p) for p in report.portfolios], width)
