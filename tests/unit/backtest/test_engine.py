"""The backtest loop's semantics: when a signal fills and at what price, what
happens at the end of the data, event time throughout, and determinism."""

from __future__ import annotations

from decimal import Decimal

import pytest

from livecore.backtest.engine import Backtest, BacktestSettings
from livecore.domain.spec import parse_spec
from livecore.gateway.costs import CostModel
from livecore.gateway.paper import END_OF_DATA, PaperSettings
from livecore.wire.messages import Bar
from tests.unit.backtest.helpers import bundled, ma_spec

DAY = 86_400 * 1_000_000_000
START = 14_610 * DAY  # 2010-01-01


def _bar(day: int, open_: str, close: str, symbol: str = "X") -> Bar:
    o, c = Decimal(open_), Decimal(close)
    return Bar(
        symbol=symbol, ts_ns=START + day * DAY, open=o, high=max(o, c), low=min(o, c), close=c, volume=Decimal(1000)
    )


def _breakout(extra: str = "") -> object:
    """Buys 10 when the price breaks above the last bar's, sells below the last bar's low."""
    return parse_spec(
        f"""
id = "b"
initial_cash = 10000
symbols = ["X"]
[strategy]
class = "breakout"
params = {{ lookback = 1, exit_lookback = 1 }}
[sizer]
class = "fixed"
params = {{ quantity = 10 }}
{extra}
"""
    )


def test_a_signal_on_bar_t_fills_at_bar_t_plus_1_open() -> None:
    bars = [_bar(0, "10", "10"), _bar(1, "10", "11"), _bar(2, "12", "12.5"), _bar(3, "13", "13")]
    result = Backtest(specs=[_breakout()], settings=BacktestSettings()).run(bars)
    (fill,) = result.records.fills
    assert (fill.side, fill.quantity, fill.price, fill.ts_ns) == ("buy", Decimal(10), Decimal(12), bars[2].ts_ns)
    order = result.records.orders[fill.client_order_id]
    assert order.order.created_ns == bars[1].ts_ns  # decided on bar 1's close, in event time
    assert result.portfolios["b"].books.cash == Decimal(10000 - 120)


def test_an_order_on_the_last_bar_is_cancelled_at_the_end_of_the_data() -> None:
    bars = [_bar(0, "10", "10"), _bar(1, "10", "11")]
    result = Backtest(specs=[_breakout()], settings=BacktestSettings()).run(bars)
    assert result.records.fills == []
    (order,) = result.records.orders.values()
    assert (order.status, order.reason, order.updated_ns) == ("cancelled", END_OF_DATA, bars[-1].ts_ns)
    assert result.portfolios["b"].books.cash == Decimal(10000)  # the reservation is released
    assert result.records.unsettled() == []


def test_costs_are_the_paper_gateways() -> None:
    bars = [_bar(0, "10", "10"), _bar(1, "10", "11"), _bar(2, "12", "12")]
    costs = CostModel(slippage_bps=Decimal(100), commission_per_share=Decimal("0.5"))
    result = Backtest(specs=[_breakout()], settings=BacktestSettings(paper=PaperSettings(costs=costs))).run(bars)
    (fill,) = result.records.fills
    assert (fill.price, fill.commission) == (Decimal("12.12"), Decimal("5.0000"))


def test_equity_is_recorded_at_every_event_time_in_event_time() -> None:
    bars = [_bar(0, "10", "10"), _bar(1, "10", "11"), _bar(2, "12", "13")]
    result = Backtest(specs=[_breakout()], settings=BacktestSettings()).run(bars)
    assert [p.ts_ns for p in result.records.equity] == [b.ts_ns for b in bars]
    last = result.records.equity[-1]
    assert (last.cash, last.positions_value, last.equity) == (Decimal(9880), Decimal(130), Decimal(10010))


def test_daily_loss_limit_counts_the_datas_days() -> None:
    """The risk rule's day is the event's UTC day, not today's."""
    spec = _breakout('[[risk]]\nclass = "daily_loss_limit"\nparams = { max_loss_percent = 1 }')
    bars = [_bar(0, "10", "10"), _bar(1, "10", "11"), _bar(2, "12", "12"), _bar(2, "12", "1"), _bar(3, "2", "2")]
    portfolio = Backtest(specs=[spec], settings=BacktestSettings()).run(bars).portfolios["b"]
    assert portfolio.halted and "daily_loss_limit" in (portfolio.halt_reason or "")


def test_two_runs_record_the_same() -> None:
    events = bundled("MSFT")
    spec = ma_spec("MSFT", sizer='class = "percent_equity"')
    runs = [Backtest(specs=[spec], settings=BacktestSettings()).run(events).records for _ in range(2)]
    assert runs[0].fills == runs[1].fills and runs[0].equity == runs[1].equity
    assert len(runs[0].fills) > 10


def test_one_id_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="given twice"):
        Backtest(specs=[_breakout(), _breakout()], settings=BacktestSettings())
