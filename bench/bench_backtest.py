"""Backtest speed beside two established engines, same data, same rule, same run.

The rule: SMA(5) / SMA(20) crossover, long 100 units while fast > slow, flat
below; zero costs; market orders fill at the next bar's open. Three engines:

- livecore: ``Backtest`` with the ``ma_crossover`` spec (the live Portfolio,
  pipeline and paper broker; exact Decimal books);
- backtesting.py: its idiomatic form (indicators precomputed with pandas);
- backtrader: its idiomatic form (indicators, ``buy``/``close``).

The two others compare the averages as rolling sums of whole cents, so that a
float rounding cannot break a tie that livecore's exact Decimal averages see.

Rows: one symbol over ``--bars`` one-minute bars (default 1,000,000), and
``--portfolios`` portfolios over as many symbols (default 100 x 100, ``--bars-each``
bars each; backtesting.py and backtrader run one symbol at a time there, as they
must). Bars per second is bars / seconds of the engine's run (data loading and
object construction outside the timing); every engine's trades are checked
equal to livecore's. Prints a table and the ratio to the faster other engine.

    .venv/bin/python bench/bench_backtest.py [--bars 1000000] [--portfolios 100] [--bars-each 10000]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import backtesting
import backtrader as bt
import pandas as pd
from rich.console import Console
from rich.table import Table

from livecore.backtest.engine import Backtest, BacktestSettings
from livecore.backtest.trades import round_trips
from livecore.domain.spec import PortfolioSpec, parse_spec
from livecore.testing.frames import ohlcv_frame
from livecore.wire.messages import Bar

MINUTE_NS = 60 * 1_000_000_000
START_NS = 1_262_304_000 * 1_000_000_000  # 2010-01-01
FAST, SLOW, SIZE = 5, 20, 100
Trade = tuple[int, int, float, float]  # entry bar, exit bar, entry price, exit price


def synthetic_bars(symbol: str, n: int, seed: int) -> list[Bar]:
    """A random walk in cents (prices exact in Decimal and in float)."""
    rnd = random.Random(seed)
    cents = 10_000
    bars = []
    for i in range(n):
        open_ = cents
        cents = max(100, cents + rnd.randint(-30, 30))
        high, low = max(open_, cents) + rnd.randint(0, 10), max(1, min(open_, cents) - rnd.randint(0, 10))
        bars.append(
            Bar(
                symbol=symbol,
                ts_ns=START_NS + i * MINUTE_NS,
                open=Decimal(open_) / 100,
                high=Decimal(high) / 100,
                low=Decimal(low) / 100,
                close=Decimal(cents) / 100,
                volume=Decimal(1000),
                interval_s=60,
            )
        )
    return bars


def spec_for(symbol: str) -> PortfolioSpec:
    return parse_spec(
        f'id = "p-{symbol}"\ninitial_cash = 100000000\nsymbols = ["{symbol}"]\n'
        f'[strategy]\nclass = "ma_crossover"\nparams = {{ fast = {FAST}, slow = {SLOW} }}\n'
        f'[sizer]\nclass = "fixed"\nparams = {{ quantity = {SIZE} }}\n'
    )


def merged(series: list[list[Bar]]) -> list[Bar]:
    return sorted((b for bars in series for b in bars), key=lambda b: b.ts_ns)


def run_livecore(specs: list[PortfolioSpec], events: list[Bar]) -> tuple[float, dict[str, list[Trade]]]:
    engine = Backtest(specs=specs, settings=BacktestSettings())
    started = time.perf_counter()
    result = engine.run(events)
    seconds = time.perf_counter() - started
    index = {}
    for bar in events:
        index[(bar.symbol, bar.ts_ns)] = (bar.ts_ns - START_NS) // MINUTE_NS
    prices = {(f.symbol, f.ts_ns): float(f.price) for f in result.records.fills}
    trades: dict[str, list[Trade]] = {}
    for trip in round_trips(result.records.fills):
        if trip.exit_ns is None:
            continue
        trades.setdefault(trip.symbol, []).append(
            (
                index[(trip.symbol, trip.entry_ns)],
                index[(trip.symbol, trip.exit_ns)],
                prices[(trip.symbol, trip.entry_ns)],
                prices[(trip.symbol, trip.exit_ns)],
            )
        )
    return seconds, trades


def _cents_sum(values: object, n: int) -> object:
    """Rolling sum of prices in whole cents: exact in float, so that a tie of the
    two averages is a tie here too (float means would break it either way)."""
    return (pd.Series(values) * 100).round().rolling(n).sum().fillna(0)


def _signal(fast_sum: float, slow_sum: float) -> int:
    """+1 when SMA(fast) > SMA(slow), -1 when below, 0 on a tie (in cents, exact)."""
    diff = fast_sum * SLOW - slow_sum * FAST
    return 0 if abs(diff) < 0.5 else (1 if diff > 0 else -1)


class SmaCrossBtpy(backtesting.Strategy):  # type: ignore[misc]
    def init(self) -> None:
        self.fast = self.I(_cents_sum, self.data.Close, FAST)
        self.slow = self.I(_cents_sum, self.data.Close, SLOW)

    def next(self) -> None:
        if len(self.data) < SLOW:
            return
        signal = _signal(self.fast[-1], self.slow[-1])
        if signal > 0:
            if not self.position:
                self.buy(size=SIZE)
        elif signal < 0 and self.position:
            self.position.close()


def run_backtesting_py(frame: pd.DataFrame) -> tuple[float, list[Trade]]:
    engine = backtesting.Backtest(frame, SmaCrossBtpy, cash=100_000_000, commission=0, trade_on_close=False)
    started = time.perf_counter()
    stats = engine.run()
    seconds = time.perf_counter() - started
    trades = [(t.EntryBar, t.ExitBar, t.EntryPrice, t.ExitPrice) for t in stats._trades.itertuples()]
    return seconds, trades


class SmaCrossBt(bt.Strategy):  # type: ignore[misc]
    def __init__(self) -> None:
        self.fast = bt.indicators.SumN(self.data.close * 100, period=FAST)
        self.slow = bt.indicators.SumN(self.data.close * 100, period=SLOW)

    def next(self) -> None:
        signal = _signal(self.fast[0], self.slow[0])
        if signal > 0:
            if not self.position:
                self.buy(size=SIZE)
        elif signal < 0 and self.position:
            self.close()


def run_backtrader(frame: pd.DataFrame) -> tuple[float, list[Trade]]:
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=frame))
    cerebro.addstrategy(SmaCrossBt)
    cerebro.broker.setcash(100_000_000)
    fills: list[tuple[int, float, bool]] = []

    class Recorder(bt.Analyzer):  # type: ignore[misc]
        def notify_order(self, order: object) -> None:
            if order.status == order.Completed:  # type: ignore[attr-defined]
                fills.append((len(self.data) - 1, order.executed.price, order.isbuy()))  # type: ignore[attr-defined]

    cerebro.addanalyzer(Recorder)
    started = time.perf_counter()
    cerebro.run()
    seconds = time.perf_counter() - started
    trades = [(a[0], b[0], a[1], b[1]) for a, b in zip(fills[::2], fills[1::2], strict=False)]
    return seconds, trades


def race(label: str, series: list[list[Bar]], table: Table) -> None:
    bars = sum(len(s) for s in series)
    ours_s, ours = run_livecore([spec_for(s[0].symbol) for s in series], merged(series))
    timings = {"livecore": ours_s}
    for name, engine in (("backtesting.py", run_backtesting_py), ("backtrader", run_backtrader)):
        total = 0.0
        for s in series:
            frame = ohlcv_frame(s)
            seconds, theirs = engine(frame)
            total += seconds
            mine = ours.get(s[0].symbol, [])
            if theirs != mine:
                first = next((i for i, (a, b) in enumerate(zip(theirs, mine, strict=False)) if a != b), None)
                raise SystemExit(
                    f"{label}: {name} trades differ from livecore's on {s[0].symbol} "
                    f"({len(theirs)} vs {len(mine)}; first at {first}: {theirs[first or 0]} vs {mine[first or 0]})"
                )
        timings[name] = total
    best_other = min(timings["backtesting.py"], timings["backtrader"])
    for name, seconds in timings.items():
        table.add_row(
            label, name, f"{bars:,}", f"{seconds:.2f}", f"{bars / seconds:,.0f}", f"{best_other / seconds:.2f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--portfolios", type=int, default=100)
    parser.add_argument("--bars-each", type=int, default=10_000)
    args = parser.parse_args()
    table = Table(title="backtest speed (same rule, same data, same trades)")
    for column in ("case", "engine", "bars", "seconds", "bars/s", "vs faster other"):
        table.add_column(column)
    race("1 symbol", [synthetic_bars("S0", args.bars, 1)], table)
    series = [synthetic_bars(f"S{i}", args.bars_each, 100 + i) for i in range(args.portfolios)]
    race(f"{args.portfolios} portfolios x symbols", series, table)
    Console().print(table)


if __name__ == "__main__":
    main()
