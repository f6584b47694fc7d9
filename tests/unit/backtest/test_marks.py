"""An equity curve rebuilt from fills and market data equals the one the
backtest recorded while it ran (same points, same sampling, exact)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from livecore.backtest.engine import Backtest, BacktestSettings
from livecore.backtest.marks import equity_curve
from livecore.backtest.records import EquityPoint
from livecore.backtest.runner import load_events, load_specs
from livecore.gateway.costs import CostModel
from livecore.gateway.paper import PaperSettings

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "portfolios"


def test_rebuilt_curve_equals_the_backtests_own_with_costs() -> None:
    specs = load_specs([EXAMPLES])
    events = load_events(None, specs, None, None)
    costs = CostModel(slippage_bps=Decimal(5), commission_per_share=Decimal("0.01"), commission_min=Decimal(1))
    result = Backtest(specs=specs, settings=BacktestSettings(paper=PaperSettings(costs=costs))).run(events)
    assert len(result.records.fills) > 100

    rebuilt = equity_curve(
        events,
        result.records.fills,
        opening_cash={s.id: s.initial_cash for s in specs},
        universes={s.id: frozenset(s.symbols) for s in specs},
    )

    assert _by_portfolio(rebuilt) == _by_portfolio(result.records.equity)


def _by_portfolio(points: Sequence[EquityPoint]) -> dict[str, list[EquityPoint]]:
    out: dict[str, list[EquityPoint]] = {}
    for point in points:
        out.setdefault(point.portfolio_id, []).append(point)
    return out
