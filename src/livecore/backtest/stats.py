"""Performance statistics of one portfolio's run (floats: these describe, they
do not account). Pure: no I/O. The formulas (docs/BACKTEST.md):

- returns are daily: the last equity of each UTC day with data, day over day;
  ``periods`` per year is 252, or 365 when weekend days carry data (crypto);
- total return ``E_end / E_0 - 1`` (``E_0`` the initial cash); CAGR
  ``(E_end / E_0) ** (1 / years) - 1`` over the data's span in 365.25-day years;
- volatility ``stdev(r) * sqrt(periods)`` (sample deviation); Sharpe
  ``mean(r) / stdev(r) * sqrt(periods)`` and Sortino ``mean(r) /
  sqrt(mean(min(r, 0)^2)) * sqrt(periods)``, both with a zero risk-free rate;
- max drawdown ``min(E_t / max_{s<=t} E_s - 1)`` over the equity rows (<= 0),
  and its duration: the longest time from a peak until equity is back at it
  (or until the data ends);
- trades, win rate and profit factor over closed round trips (``trades.py``);
  exposure: the share of equity rows with a position open.

A ratio that has no value (no trade, zero volatility) is None, never NaN.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal

from livecore.backtest.records import EquityPoint, FillRecord
from livecore.backtest.trades import RoundTrip, round_trips

NS_PER_DAY = 86_400 * 1_000_000_000
_YEAR_NS = 365.25 * NS_PER_DAY


@dataclass(frozen=True, slots=True)
class Stats:
    """One portfolio's figures; ratios as fractions (0.1 is 10 %)."""

    portfolio_id: str
    start: str
    end: str
    initial_equity: float
    final_equity: float
    total_return: float
    cagr: float | None
    volatility: float | None
    sharpe: float | None
    sortino: float | None
    max_drawdown: float
    max_drawdown_days: float
    trades: int
    win_rate: float | None
    profit_factor: float | None
    exposure: float
    commission: float
    fills: int
    orders: int

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def iso(ts_ns: int) -> str:
    """ISO-8601 UTC with the data's precision, e.g. ``2010-03-01T00:00:00Z``."""
    seconds, ns = divmod(ts_ns, 1_000_000_000)
    text = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{ns:09d}Z" if ns else f"{text}Z"


def daily_closes(points: Sequence[EquityPoint]) -> list[tuple[int, float]]:
    """The last equity of each UTC day: ``(day number, equity)``."""
    closes: dict[int, float] = {}
    for point in points:
        closes[point.ts_ns // NS_PER_DAY] = float(point.equity)
    return sorted(closes.items())


def periods_per_year(days: Sequence[int]) -> int:
    """252, or 365 when weekend days carry data (day 0, 1970-01-01, was a Thursday)."""
    if not days:
        return 252
    weekend = sum(1 for day in days if (day + 3) % 7 >= 5)
    return 365 if weekend / len(days) > 2 / 7 * 0.6 else 252


def daily_returns(closes: Sequence[tuple[int, float]]) -> list[float]:
    return [b / a - 1 for (_, a), (_, b) in itertools.pairwise(closes) if a]


def drawdown(points: Sequence[EquityPoint]) -> tuple[float, float]:
    """(max drawdown <= 0, longest time under water in days: from a peak to the
    first time equity is back at it, or to the end of the data)."""
    peak, peak_ns, under = -math.inf, 0, False
    worst, longest = 0.0, 0
    for point in points:
        equity = float(point.equity)
        if equity >= peak:
            if under:
                longest = max(longest, point.ts_ns - peak_ns)
            peak, peak_ns, under = equity, point.ts_ns, False
            continue
        under = True
        worst = min(worst, equity / peak - 1 if peak else 0.0)
    if under:
        longest = max(longest, points[-1].ts_ns - peak_ns)
    return worst, longest / NS_PER_DAY


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def compute(
    *,
    portfolio_id: str,
    initial_equity: Decimal,
    points: Sequence[EquityPoint],
    fills: Sequence[FillRecord],
    trips: Sequence[RoundTrip],
    orders: int,
) -> Stats:
    """The figures of one portfolio from its equity series, fills and round trips."""
    e0 = float(initial_equity)
    first_ns = points[0].ts_ns if points else 0
    last_ns = points[-1].ts_ns if points else 0
    final = float(points[-1].equity) if points else e0
    closes = daily_closes(points)
    periods = periods_per_year([day for day, _ in closes])
    returns = daily_returns(closes)
    root = math.sqrt(periods)
    deviation = statistics.stdev(returns) if len(returns) > 1 else 0.0
    mean = statistics.fmean(returns) if returns else 0.0
    downside = math.sqrt(statistics.fmean([min(r, 0.0) ** 2 for r in returns])) if returns else 0.0
    years = (last_ns - first_ns) / _YEAR_NS
    growth = final / e0 if e0 else 0.0
    closed = [t for t in trips if t.closed]
    wins = sum(float(t.pnl) for t in closed if t.pnl > 0)
    losses = -sum(float(t.pnl) for t in closed if t.pnl < 0)
    worst, under_water = drawdown(points)
    exposed = sum(1 for p in points if p.positions_value != 0)
    return Stats(
        portfolio_id=portfolio_id,
        start=iso(first_ns),
        end=iso(last_ns),
        initial_equity=e0,
        final_equity=final,
        total_return=growth - 1,
        cagr=_cagr(growth, years),
        volatility=deviation * root if len(returns) > 1 else None,
        sharpe=_scaled(_ratio(mean, deviation), root),
        sortino=_scaled(_ratio(mean, downside), root),
        max_drawdown=worst,
        max_drawdown_days=under_water,
        trades=len(closed),
        win_rate=_ratio(sum(1 for t in closed if t.pnl > 0), len(closed)),
        profit_factor=_ratio(wins, losses),
        exposure=exposed / len(points) if points else 0.0,
        commission=float(sum((f.quote_commission for f in fills), Decimal(0))),
        fills=len(fills),
        orders=orders,
    )


def _cagr(growth: float, years: float) -> float | None:
    """None over less than a day (compounding a few minutes to a year says nothing)."""
    if years * 365.25 < 1 or growth <= 0:
        return None
    try:
        return float(growth ** (1 / years) - 1)
    except OverflowError:
        return None


def _scaled(value: float | None, factor: float) -> float | None:
    return None if value is None else value * factor


def stats_for(
    portfolios: Sequence[tuple[str, Decimal]],
    *,
    points: Mapping[str, Sequence[EquityPoint]],
    fills: Mapping[str, Sequence[FillRecord]],
    orders: Mapping[str, int],
    lot_sizes: Mapping[str, Decimal] | None = None,
) -> list[Stats]:
    """The figures of each ``(portfolio_id, initial_equity)``, in that order, from
    its equity points, fills (their round trips are drawn here, with its sizer's
    lot size: less than a lot left by a fee is no position) and order count; a
    portfolio missing from a mapping has none."""
    lots = lot_sizes or {}
    return [
        compute(
            portfolio_id=pid,
            initial_equity=initial,
            points=points.get(pid, ()),
            fills=fills.get(pid, ()),
            trips=round_trips(fills.get(pid, ()), lot_size=lots.get(pid, Decimal(0))),
            orders=orders.get(pid, 0),
        )
        for pid, initial in portfolios
    ]
