"""The same rule in backtesting.py (an independent, established engine) gives
the same trades: entry and exit times, quantities and prices, with zero costs
and fills at the next bar's open."""

from __future__ import annotations

from decimal import Decimal

import pytest

from livecore.backtest.engine import Backtest, BacktestSettings
from livecore.backtest.stats import iso
from livecore.backtest.trades import round_trips
from livecore.testing.frames import ohlcv_frame
from livecore.wire.messages import Bar
from tests.unit.backtest.helpers import bundled, ma_spec

pd = pytest.importorskip("pandas")
backtesting = pytest.importorskip("backtesting")

FAST, SLOW = 5, 20


def _sma(values: object, n: int) -> object:
    # 0, not NaN, before the window fills: backtesting.py starts ``next()`` one bar
    # after its indicators' warm-up, livecore's strategy acts on the bar its window
    # fills; with no NaN to wait for, ``next()`` guards on the data length instead
    return pd.Series(values).rolling(n).mean().fillna(0)


def _reference_trades(events: list, size: object) -> list[tuple[str, str, Decimal, Decimal, Decimal]]:
    class SmaCross(backtesting.Strategy):  # type: ignore[misc]
        def init(self) -> None:
            self.fast = self.I(_sma, self.data.Close, FAST)
            self.slow = self.I(_sma, self.data.Close, SLOW)

        def next(self) -> None:
            if len(self.data) < SLOW:
                return
            if self.fast[-1] > self.slow[-1]:
                if not self.position:
                    self.buy(size=size(self))
            elif self.fast[-1] < self.slow[-1] and self.position:
                self.position.close()

    run = backtesting.Backtest(
        ohlcv_frame([e for e in events if isinstance(e, Bar)]),
        SmaCross,
        cash=100_000,
        commission=0,
        trade_on_close=False,
    )
    result = run.run()
    rows = []
    for trade in result._trades.itertuples():
        rows.append(
            (
                trade.EntryTime.strftime("%Y-%m-%d"),
                trade.ExitTime.strftime("%Y-%m-%d"),
                Decimal(int(trade.Size)),
                Decimal(str(trade.EntryPrice)),
                Decimal(str(trade.ExitPrice)),
            )
        )
    return rows


def _our_trades(events: list, sizer: str) -> list[tuple[str, str, Decimal, Decimal, Decimal]]:
    spec = ma_spec(events[0].symbol, sizer=sizer, fast=FAST, slow=SLOW)
    result = Backtest(specs=[spec], settings=BacktestSettings()).run(events)
    fills = result.records.fills
    prices = {(f.ts_ns, f.side): f.price for f in fills}
    rows = []
    for trip in round_trips(fills):
        if not trip.closed:  # backtesting.py leaves a trade open at the end out of _trades
            continue
        assert trip.exit_ns is not None
        rows.append(
            (
                iso(trip.entry_ns)[:10],
                iso(trip.exit_ns)[:10],
                trip.quantity,
                prices[(trip.entry_ns, "buy")].normalize(),
                prices[(trip.exit_ns, "sell")].normalize(),
            )
        )
    return rows


def _normal(rows: list[tuple[str, str, Decimal, Decimal, Decimal]]) -> list[tuple[str, str, Decimal, Decimal, Decimal]]:
    return [(a, b, q.normalize(), p.normalize(), x.normalize()) for a, b, q, p, x in rows]


@pytest.mark.parametrize("symbol", ["AAPL", "GOOG", "IBM", "MSFT"])
def test_fixed_size_trades_match_backtesting_py(symbol: str) -> None:
    events = bundled(symbol)
    ours = _our_trades(events, 'class = "fixed"\nparams = { quantity = 100 }')
    theirs = _reference_trades(events, lambda strategy: 100)
    assert len(ours) > 10
    assert _normal(ours) == _normal(theirs)


def test_equity_sized_trades_match_backtesting_py() -> None:
    """Sizing from equity at the signal bar's close (10 %, whole shares) agrees too,
    so both engines mark the books the same way between trades."""
    events = bundled("AAPL")
    ours = _our_trades(events, 'class = "percent_equity"\nparams = { percent = 10, lot_size = 1 }')
    theirs = _reference_trades(events, lambda strategy: int(strategy.equity * 0.10 // strategy.data.Close[-1]))
    assert len(ours) > 10
    assert _normal(ours) == _normal(theirs)
