"""Backtest speed beside two established engines, same data, same rule, same run.

The rule: SMA(5) / SMA(20) crossover, long 100 units while fast > slow, flat
below; zero costs; market orders fill at the next bar's open. Three engines:

- livecore: ``Backtest`` with the ``ma_crossover`` spec (the live Portfolio,
  pipeline and paper broker; exact Decimal books);
- backtesting.py: its fastest form, the indicator precomputed with numpy
  through ``self.I``, the rule in ``next``;
- backtrader: its fastest fair form, the same numpy indicator fed as a data
  line, the rule in ``next`` (``buy``/``close``).

The indicator of the two others is ``fast_sum * 20 - slow_sum * 5`` in whole
cents: integers, exact in float, so a tie of the two averages is a tie there
as in livecore's exact Decimal averages.

Rows: one symbol over ``--bars`` one-minute bars (default 1,000,000), and
``--portfolios`` portfolios over as many symbols (default 100 x 100, ``--bars-each``
bars each; backtesting.py and backtrader run one symbol at a time there, as they
must). Bars per second is bars / CPU seconds of the engine's run
(``time.process_time``: the three run in one thread, and on a shared, loaded
machine wall time mostly adds the wait for a core; data loading and object
construction outside the timing); every engine's trades are checked
equal to livecore's. ``--backtrader-cap N`` runs backtrader on the first N bars
of a case only (a prefix of the one series; whole series up to N bars in the
other case): its cost per bar is flat, and its trades are checked against
livecore's closed within that part. Prints a table and each engine's rate
relative to the faster other engine. ``--rounds N`` runs livecore and
backtesting.py N times each, alternated (this machine's speed drifts by 20% or
more within a minute, so one run of each can land either way): the table shows
the medians, and a line per case gives the ratio of each round's pair.

    .venv/bin/python bench/bench_backtest.py [--bars 1000000] [--portfolios 100] [--bars-each 10000]
        [--backtrader-cap N] [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import backtesting
import backtrader as bt
import numpy as np
import pandas as pd
from _backtest_data import FAST, MINUTE_NS, SIZE, SLOW, START_NS, merged, spec_for, synthetic_bars
from rich.console import Console
from rich.table import Table

from livecore.backtest.engine import Backtest, BacktestSettings
from livecore.backtest.trades import round_trips
from livecore.domain.spec import PortfolioSpec
from livecore.testing.frames import ohlcv_frame
from livecore.wire.messages import Bar

Trade = tuple[int, int, float, float]  # entry bar, exit bar, entry price, exit price


def run_livecore(specs: list[PortfolioSpec], events: list[Bar]) -> tuple[float, dict[str, list[Trade]]]:
    engine = Backtest(specs=specs, settings=BacktestSettings())
    started = time.process_time()
    result = engine.run(events)
    seconds = time.process_time() - started
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


def cross_diff(close: object) -> np.ndarray:
    """``SMA(fast) - SMA(slow)`` scaled to whole cents, as ``fast_sum * SLOW -
    slow_sum * FAST``: integers, so exact in float, and a tie of the two averages
    is exactly 0 here as in livecore's Decimal averages. Zero while warming up
    (no signal). One vectorised numpy pass: each engine's indicator is this."""
    cents = np.rint(np.asarray(close, dtype=float) * 100)
    sums = np.concatenate(([0.0], np.cumsum(cents)))
    n = len(cents)
    diff = np.zeros(n)
    if n >= SLOW:
        end = np.arange(SLOW, n + 1)  # sums[end] - sums[end - k]: the k prices up to bar end - 1
        diff[SLOW - 1 :] = (sums[end] - sums[end - FAST]) * SLOW - (sums[end] - sums[end - SLOW]) * FAST
    return diff


class SmaCrossBtpy(backtesting.Strategy):  # type: ignore[misc]
    """backtesting.py's fastest form: the indicator precomputed with numpy through
    ``self.I`` (one indicator: the engine slices each one on every bar), the rule
    in ``next``."""

    def init(self) -> None:
        self.diff = self.I(cross_diff, self.data.Close)

    def next(self) -> None:
        diff = self.diff[-1]
        if diff > 0:
            if not self.position:
                self.buy(size=SIZE)
        elif diff < 0 and self.position:
            self.position.close()


def run_backtesting_py(frame: pd.DataFrame) -> tuple[float, list[Trade]]:
    engine = backtesting.Backtest(frame, SmaCrossBtpy, cash=100_000_000, commission=0, trade_on_close=False)
    started = time.process_time()
    stats = engine.run()
    seconds = time.process_time() - started
    trades = [(t.EntryBar, t.ExitBar, t.EntryPrice, t.ExitPrice) for t in stats._trades.itertuples()]
    return seconds, trades


class DiffData(bt.feeds.PandasData):  # type: ignore[misc]
    """The OHLCV feed with the precomputed indicator as one more line."""

    lines = ("diff",)
    params = (("diff", -1),)


class SmaCrossBt(bt.Strategy):  # type: ignore[misc]
    """backtrader's fastest fair form: the indicator precomputed with numpy and fed
    as a data line (its own ``SumN`` lines cost more per bar), the rule in
    ``next``, ``buy``/``close``."""

    def next(self) -> None:
        diff = self.data.diff[0]
        if diff > 0:
            if not self.position:
                self.buy(size=SIZE)
        elif diff < 0 and self.position:
            self.close()


def run_backtrader(frame: pd.DataFrame) -> tuple[float, list[Trade]]:
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(DiffData(dataname=frame.assign(diff=cross_diff(frame["Close"]))))
    cerebro.addstrategy(SmaCrossBt)
    cerebro.broker.setcash(100_000_000)
    fills: list[tuple[int, float, bool]] = []

    class Recorder(bt.Analyzer):  # type: ignore[misc]
        def notify_order(self, order: object) -> None:
            if order.status == order.Completed:  # type: ignore[attr-defined]
                fills.append((len(self.data) - 1, order.executed.price, order.isbuy()))  # type: ignore[attr-defined]

    cerebro.addanalyzer(Recorder)
    started = time.process_time()
    cerebro.run()
    seconds = time.process_time() - started
    trades = [(a[0], b[0], a[1], b[1]) for a, b in zip(fills[::2], fills[1::2], strict=False)]
    return seconds, trades


def capped(series: list[list[Bar]], cap: int | None) -> list[list[Bar]]:
    """The first ``cap`` bars of the case: a prefix of one series, or the first
    series whole (at least one). A rule that reads only the past trades a
    prefix exactly as it trades the same bars inside the whole series."""
    if cap is None or cap >= sum(len(s) for s in series):
        return series
    if len(series) == 1:
        return [series[0][:cap]]
    return series[: max(1, cap // len(series[0]))]


def check(label: str, name: str, symbol: str, theirs: list[Trade], mine: list[Trade]) -> None:
    if theirs != mine:
        first = next((i for i, (a, b) in enumerate(zip(theirs, mine, strict=False)) if a != b), None)
        raise SystemExit(
            f"{label}: {name} trades differ from livecore's on {symbol} "
            f"({len(theirs)} vs {len(mine)}; first at {first}: {theirs[first or 0]} vs {mine[first or 0]})"
        )


def run_backtesting_py_all(label: str, series: list[list[Bar]], ours: dict[str, list[Trade]]) -> float:
    """backtesting.py over every series of the case, one at a time (as it must),
    each checked against livecore's trades; the CPU seconds of its runs."""
    total = 0.0
    for s in series:
        seconds, theirs = run_backtesting_py(ohlcv_frame(s))
        total += seconds
        check(label, "backtesting.py", s[0].symbol, theirs, ours.get(s[0].symbol, []))
    return total


def race(label: str, series: list[list[Bar]], table: Table, *, backtrader_cap: int | None, rounds: int) -> None:
    """Time livecore and backtesting.py ``rounds`` times, one after the other in each
    round (the machine's speed drifts: a pair run back to back sees about the same
    machine), then backtrader once on its capped part, its trades checked against
    livecore's that closed within that part. The rates shown are the medians over
    the rounds; the ratio of each round is printed below the table."""
    bars = sum(len(s) for s in series)
    specs, events = [spec_for(s[0].symbol) for s in series], merged(series)
    ours_times, theirs_times, ours = [], [], {}
    for _ in range(rounds):
        seconds, ours = run_livecore(specs, events)
        ours_times.append(seconds)
        theirs_times.append(run_backtesting_py_all(label, series, ours))
    ratios = sorted(theirs / mine for mine, theirs in zip(ours_times, theirs_times, strict=True))
    rows = {
        "livecore": (bars, statistics.median(ours_times), f"median of {rounds}" if rounds > 1 else ""),
        "backtesting.py": (bars, statistics.median(theirs_times), f"median of {rounds}" if rounds > 1 else ""),
    }
    part = capped(series, backtrader_cap)
    total, counted = 0.0, 0
    for s in part:
        seconds, theirs = run_backtrader(ohlcv_frame(s))
        total += seconds
        counted += len(s)
        check(label, "backtrader", s[0].symbol, theirs, [t for t in ours.get(s[0].symbol, []) if t[1] < len(s)])
    rows["backtrader"] = (counted, total, "" if part is series else f"first {counted:,} bars (--backtrader-cap)")
    rate = {name: n / seconds for name, (n, seconds, _) in rows.items()}
    best_other = max(rate["backtesting.py"], rate["backtrader"])
    for name, (n, seconds, note) in rows.items():
        table.add_row(
            label, name, f"{n:,}", f"{seconds:.2f}", f"{rate[name]:,.0f}", f"{rate[name] / best_other:.2f}x", note
        )
    RATIOS[label] = ratios


RATIOS: dict[str, list[float]] = {}  # case -> livecore / backtesting.py of each round, sorted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--portfolios", type=int, default=100)
    parser.add_argument("--bars-each", type=int, default=10_000)
    parser.add_argument(
        "--backtrader-cap",
        type=int,
        default=None,
        metavar="N",
        help="run backtrader on the first N bars of each case only (its rate per bar is flat)",
    )
    parser.add_argument("--rounds", type=int, default=1, help="livecore and backtesting.py runs per case, alternated")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message="Some trades remain open")  # backtesting.py, every run
    table = Table(title="backtest speed (same rule, same data, same trades)")
    for column in ("case", "engine", "bars", "seconds", "bars/s", "vs faster other", "note"):
        table.add_column(column)
    race(
        "1 symbol", [synthetic_bars("S0", args.bars, 1)], table, backtrader_cap=args.backtrader_cap, rounds=args.rounds
    )
    series = [synthetic_bars(f"S{i}", args.bars_each, 100 + i) for i in range(args.portfolios)]
    race(
        f"{args.portfolios} portfolios x symbols", series, table, backtrader_cap=args.backtrader_cap, rounds=args.rounds
    )
    console = Console(width=160)
    console.print(table)
    for label, ratios in RATIOS.items():
        shown = ", ".join(f"{r:.2f}" for r in ratios)
        console.print(
            f"{label}: livecore / backtesting.py per round (sorted): {shown}; median {statistics.median(ratios):.2f}x"
        )


if __name__ == "__main__":
    main()
