"""``report.html``: one self-contained page (inline SVG, no script, no CDN) with
each portfolio's equity curve and drawdown, its statistics and its trades."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from livecore.backtest.engine import BacktestResult
from livecore.backtest.records import EquityPoint, FillRecord
from livecore.backtest.stats import Stats, iso

_WIDTH, _HEIGHT, _PAD = 900, 220, 40
_MAX_POINTS = 1500  # points drawn per curve; longer series are thinned evenly
_TRADE_ROWS = 500  # trades listed per portfolio in the page (trades.csv has all)

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.4em} h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
td,th{border:1px solid #ddd;padding:2px 8px;text-align:right} th{background:#f4f4f4}
td.l,th.l{text-align:left} svg{display:block;margin:.5em 0;background:#fcfcfc;border:1px solid #eee}
.muted{color:#777;font-size:.85em}
"""

STAT_LABELS: tuple[tuple[str, str, str], ...] = (
    ("total_return", "Total return", "pct"),
    ("cagr", "CAGR", "pct"),
    ("volatility", "Volatility (ann.)", "pct"),
    ("sharpe", "Sharpe", "num"),
    ("sortino", "Sortino", "num"),
    ("max_drawdown", "Max drawdown", "pct"),
    ("max_drawdown_days", "Max drawdown duration (days)", "num"),
    ("trades", "Trades", "int"),
    ("win_rate", "Win rate", "pct"),
    ("profit_factor", "Profit factor", "num"),
    ("exposure", "Exposure time", "pct"),
    ("commission", "Commission paid", "num"),
    ("final_equity", "Final equity", "num"),
)


def format_stat(value: object, kind: str) -> str:
    """A statistic as a person reads it ("-" when it has no value)."""
    if value is None:
        return "-"
    if kind == "pct":
        return f"{float(value) * 100:.2f}%"  # type: ignore[arg-type]
    if kind == "int":
        return str(value)
    return f"{float(value):,.2f}"  # type: ignore[arg-type]


def _thin(values: Sequence[float]) -> list[tuple[int, float]]:
    step = max(1, len(values) // _MAX_POINTS)
    picked = list(range(0, len(values), step))
    if picked and picked[-1] != len(values) - 1:
        picked.append(len(values) - 1)
    return [(i, values[i]) for i in picked]


def _polyline(values: Sequence[float], colour: str, floor: float | None = None) -> str:
    if not values:
        return ""
    points = _thin(values)
    low = min(v for _, v in points) if floor is None else floor
    high = max(v for _, v in points)
    span = (high - low) or 1.0
    last = max(1, len(values) - 1)
    coords = " ".join(
        f"{_PAD + i / last * (_WIDTH - 2 * _PAD):.1f},{_HEIGHT - _PAD - (v - low) / span * (_HEIGHT - 2 * _PAD):.1f}"
        for i, v in points
    )
    labels = (
        f'<text x="4" y="{_PAD}" font-size="11">{high:,.2f}</text>'
        f'<text x="4" y="{_HEIGHT - _PAD}" font-size="11">{low:,.2f}</text>'
    )
    return (
        f'<svg width="{_WIDTH}" height="{_HEIGHT}" viewBox="0 0 {_WIDTH} {_HEIGHT}" role="img">'
        f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{coords}"/>{labels}</svg>'
    )


def _curves(points: Sequence[EquityPoint]) -> str:
    equity = [float(p.equity) for p in points]
    peak, drawdowns = float("-inf"), []
    for value in equity:
        peak = max(peak, value)
        drawdowns.append((value / peak - 1) * 100 if peak else 0.0)
    span = f"{iso(points[0].ts_ns)} .. {iso(points[-1].ts_ns)}" if points else ""
    return (
        f'<p class="muted">Equity ({html.escape(span)})</p>{_polyline(equity, "#1f6fb2")}'
        f'<p class="muted">Drawdown (%)</p>{_polyline(drawdowns, "#c0392b")}'
    )


def _stats_table(stats: Stats) -> str:
    values = stats.to_dict()
    rows = "".join(
        f'<tr><th class="l">{label}</th><td>{format_stat(values[key], kind)}</td></tr>'
        for key, label, kind in STAT_LABELS
    )
    return f"<table>{rows}</table>"


def _trades_table(fills: Sequence[FillRecord]) -> str:
    head = "".join(f"<th>{h}</th>" for h in ("time", "order", "symbol", "side", "quantity", "price", "commission"))
    rows = "".join(
        f'<tr><td class="l">{iso(f.ts_ns)}</td><td class="l">{html.escape(f.client_order_id)}</td>'
        f'<td class="l">{html.escape(f.symbol)}</td><td class="l">{f.side}</td><td>{f.quantity}</td>'
        f"<td>{f.price}</td><td>{f.commission}</td></tr>"
        for f in fills[:_TRADE_ROWS]
    )
    more = f'<p class="muted">{len(fills) - _TRADE_ROWS} more in trades.csv</p>' if len(fills) > _TRADE_ROWS else ""
    return f"<table><tr>{head}</tr>{rows}</table>{more}"


def render_report(result: BacktestResult, stats: Sequence[Stats], run: dict[str, Any]) -> str:
    """The whole page as text."""
    by_portfolio: dict[str, list[EquityPoint]] = {}
    for point in result.records.equity:
        by_portfolio.setdefault(point.portfolio_id, []).append(point)
    fills: dict[str, list[FillRecord]] = {}
    for fill in result.records.fills:
        fills.setdefault(fill.portfolio_id, []).append(fill)
    sections = []
    for item in stats:
        pid = item.portfolio_id
        sections.append(
            f"<h2>{html.escape(pid)}</h2>{_curves(by_portfolio.get(pid, []))}{_stats_table(item)}"
            f"<h3>Trades</h3>{_trades_table(fills.get(pid, []))}"
        )
    summary = html.escape(
        f"{run.get('events', 0)} events, {iso(result.first_ns)} .. {iso(result.last_ns)}; costs: {run.get('costs', {})}"
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>livecore backtest</title>'
        f"<style>{_STYLE}</style></head><body><h1>livecore backtest</h1>"
        f'<p class="muted">{summary}</p>{"".join(sections)}</body></html>\n'
    )
