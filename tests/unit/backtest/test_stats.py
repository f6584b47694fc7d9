"""The statistics' formulas on series small enough to check by hand, and one
set cross-checked against empyrical (an established library) on a real run."""

from __future__ import annotations

import math
from decimal import Decimal

import msgspec
import pytest

from livecore.backtest.engine import Backtest, BacktestSettings
from livecore.backtest.records import EquityPoint, FillRecord
from livecore.backtest.stats import NS_PER_DAY, compute, daily_closes, daily_returns, drawdown, periods_per_year
from livecore.backtest.trades import round_trips
from livecore.domain.fees import FeeKind
from tests.unit.backtest.helpers import bundled, ma_spec

MONDAY = 4 * NS_PER_DAY  # 1970-01-05


def _points(values: list[str], step_days: int = 1, start: int = MONDAY) -> list[EquityPoint]:
    return [
        EquityPoint(
            portfolio_id="p",
            ts_ns=start + i * step_days * NS_PER_DAY,
            equity=Decimal(v),
            cash=Decimal(v),
            positions_value=Decimal(0),
        )
        for i, v in enumerate(values)
    ]


def _fill(side: str, qty: str, price: str, day: int, commission: str = "0", symbol: str = "X") -> FillRecord:
    return FillRecord(
        portfolio_id="p",
        client_order_id=f"p-1-{day}",
        fill_id=f"p-1-{day}-f1",
        symbol=symbol,
        side=side,
        quantity=Decimal(qty),
        price=Decimal(price),
        commission=Decimal(commission),
        ts_ns=MONDAY + day * NS_PER_DAY,
    )


def test_drawdown_depth_and_time_under_water() -> None:
    worst, days = drawdown(_points(["100", "120", "90", "100", "121", "110"]))
    assert worst == pytest.approx(90 / 120 - 1)
    assert days == 3  # peak on day 1, back above it on day 4
    worst, days = drawdown(_points(["100", "80", "90"]))
    assert (worst, days) == (pytest.approx(-0.2), 2)  # still under water when the data ends


def test_no_drawdown_when_equity_only_rises() -> None:
    assert drawdown(_points(["100", "101", "102"])) == (0.0, 0.0)


def test_daily_returns_use_each_days_last_equity() -> None:
    points = _points(["100", "105", "110"], step_days=0) + _points(["121"], start=MONDAY + NS_PER_DAY)
    closes = daily_closes(points)
    assert closes == [(4, 110.0), (5, 121.0)]
    assert daily_returns(closes) == [pytest.approx(0.1)]


def test_weekend_data_means_365_periods() -> None:
    weekdays = [d for d in range(4, 4 + 28) if (d + 3) % 7 < 5]
    assert periods_per_year(weekdays) == 252
    assert periods_per_year(list(range(4, 4 + 28))) == 365


def test_compute_by_hand() -> None:
    points = _points(["100", "110", "99", "108.9"])
    returns = [0.1, -0.1, 0.1]
    fills = [_fill("buy", "10", "10", 0, "1"), _fill("sell", "10", "12", 1, "1"), _fill("buy", "5", "10", 2)]
    stats = compute(
        portfolio_id="p", initial_equity=Decimal(100), points=points, fills=fills, trips=round_trips(fills), orders=3
    )
    mean, sd = sum(returns) / 3, math.sqrt(sum((r - 0.1 / 3) ** 2 for r in returns) / 2)
    assert stats.total_return == pytest.approx(0.089)
    assert stats.volatility == pytest.approx(sd * math.sqrt(252))
    assert stats.sharpe == pytest.approx(mean / sd * math.sqrt(252))
    assert stats.sortino == pytest.approx(mean / math.sqrt(0.01 / 3) * math.sqrt(252))
    assert stats.cagr == pytest.approx(1.089 ** (365.25 / 3) - 1)
    assert (stats.trades, stats.win_rate, stats.profit_factor) == (1, 1.0, None)  # one closed trip, no loss
    assert stats.commission == 2.0
    assert stats.exposure == 0.0  # no point held a position


def test_round_trips_split_a_fill_that_crosses_zero() -> None:
    fills = [_fill("buy", "10", "10", 0, "2"), _fill("sell", "15", "12", 1, "3"), _fill("buy", "5", "11", 2)]
    first, second = round_trips(fills)
    assert (first.direction, first.quantity, first.closed) == ("long", Decimal(10), True)
    assert first.pnl == Decimal(20) - Decimal(2) - Decimal(2)  # 10 x (12 - 10), both commissions' shares
    assert (second.direction, second.quantity, second.closed) == ("short", Decimal(5), True)
    assert second.pnl == Decimal(5) - Decimal(1)  # 5 x (12 - 11), a third of the crossing fill's commission


def test_a_fee_is_valued_where_it_was_booked() -> None:
    """A fee in the base is worth its quantity at the fill price and comes off the
    position; a third asset's is not valued in the quote; a rebate counts negative."""
    buy = msgspec.structs.replace(
        _fill("buy", "2", "100", 0, "0.01", "BTC/USDT"), commission_asset="BTC", fee_kind=FeeKind.BASE
    )
    sell = msgspec.structs.replace(
        _fill("sell", "1.99", "110", 1, "-0.5", "BTC/USDT"), commission_asset="USDT", fee_kind=FeeKind.QUOTE
    )
    third = msgspec.structs.replace(_fill("buy", "1", "100", 2, "0.1"), commission_asset="BNB", fee_kind=FeeKind.OTHER)
    assert (buy.quote_commission, buy.position_change) == (Decimal("1.00"), Decimal("1.99"))
    assert (sell.quote_commission, sell.position_change) == (Decimal("-0.5"), Decimal("-1.99"))
    assert third.quote_commission == 0
    [trip] = round_trips([buy, sell])
    assert trip.commission == Decimal("0.5")  # 1 USDT of BTC charged, 0.5 USDT paid back


def test_dust_a_base_fee_leaves_closes_the_trip_and_its_sale_belongs_to_it() -> None:
    """Bought 2 with 0.01 kept as the fee, sold the whole lot (1): 0.99 is below the
    lot of 1, so the trip is closed there, as the pipeline sees no position; selling
    the dust later extends that trip instead of opening a short one."""
    buy = msgspec.structs.replace(
        _fill("buy", "2", "100", 0, "0.01", "BTC/USDT"), commission_asset="BTC", fee_kind=FeeKind.BASE
    )
    sell = _fill("sell", "1", "110", 1, "0", "BTC/USDT")
    [trip] = round_trips([buy, sell], lot_size=Decimal(1))
    assert trip.closed and trip.exit_ns == sell.ts_ns
    assert round_trips([buy, sell])[0].exit_ns is None  # without a lot size the dust keeps it open
    dust = _fill("sell", "0.99", "120", 2, "0", "BTC/USDT")
    again = _fill("buy", "1", "100", 3, "0", "BTC/USDT")
    first, second = round_trips([buy, sell, dust, again], lot_size=Decimal(1))
    assert first.exit_ns == dust.ts_ns and first.direction == "long"
    assert first.pnl == Decimal("-200") + Decimal("110") + Decimal("0.99") * 120
    assert second.direction == "long" and not second.closed


def test_a_partial_entry_below_a_lot_does_not_close_the_trip() -> None:
    first = _fill("buy", "0.4", "100", 0, "0", "BTC/USDT")
    second = _fill("buy", "0.4", "100", 1, "0", "BTC/USDT")
    [trip] = round_trips([first, second], lot_size=Decimal(1))
    assert not trip.closed and trip.fills == 2


def test_a_ratio_without_a_value_is_none() -> None:
    stats = compute(
        portfolio_id="p", initial_equity=Decimal(100), points=_points(["100", "100"]), fills=[], trips=[], orders=0
    )
    assert (stats.sharpe, stats.sortino, stats.win_rate, stats.profit_factor) == (None, None, None, None)


def test_cross_check_with_empyrical() -> None:
    empyrical = pytest.importorskip("empyrical")
    pd = pytest.importorskip("pandas")
    spec = ma_spec("AAPL", sizer='class = "percent_equity"\nparams = { percent = 50 }')
    result = Backtest(specs=[spec], settings=BacktestSettings()).run(bundled("AAPL"))
    points = result.records.equity
    stats = compute(
        portfolio_id=spec.id,
        initial_equity=spec.initial_cash,
        points=points,
        fills=result.records.fills,
        trips=round_trips(result.records.fills),
        orders=0,
    )
    returns = pd.Series(daily_returns(daily_closes(points)))
    assert stats.volatility == pytest.approx(empyrical.annual_volatility(returns), rel=1e-9)
    assert stats.sharpe == pytest.approx(empyrical.sharpe_ratio(returns), rel=1e-9)
    assert stats.sortino == pytest.approx(empyrical.sortino_ratio(returns), rel=1e-9)
    assert stats.max_drawdown == pytest.approx(empyrical.max_drawdown(returns), rel=1e-9)
