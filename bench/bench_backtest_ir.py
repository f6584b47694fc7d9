"""Instructions per bar of a backtest, counted by callgrind: a figure that does
not move with the machine's load (the wall-clock benches here move by 2x).

The run covers ``Backtest.run`` of the ``ma_crossover`` spec over synthetic bars
(``_backtest_data``: the same as ``bench_backtest.py``). Each figure is a
difference, so that start-up, imports and the data's construction cancel out:

    per bar = (Ir(run of B bars) - Ir(run of A bars)
               - (Ir(build of B bars) - Ir(build of A bars))) / (B - A)

``--trend`` uses an upward drifting walk on which the averages rarely cross
(few orders: the per-event path alone); the default walk crosses every 15 bars
or so (an order on about 6.5% of bars). ``--portfolios P`` spreads the bars
over P portfolios and symbols, in event order. Needs ``valgrind``; each count
takes a minute or two.

    .venv/bin/python bench/bench_backtest_ir.py [--bars-a 5000] [--bars-b 25000] [--portfolios 1] [--trend]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _backtest_data import merged, spec_for, synthetic_bars, trending_bars

from livecore.backtest.engine import Backtest, BacktestSettings
from livecore.domain.spec import PortfolioSpec
from livecore.wire.messages import Bar


def build(bars: int, portfolios: int, trend: bool) -> tuple[list[PortfolioSpec], list[Bar]]:
    make = trending_bars if trend else synthetic_bars
    series = [make(f"S{i}", bars // portfolios, 100 + i) for i in range(portfolios)]
    return [spec_for(s[0].symbol) for s in series], merged(series)


def child(bars: int, portfolios: int, trend: bool, run: bool) -> None:
    """What callgrind counts: build the data, and run it unless only the build is counted."""
    specs, events = build(bars, portfolios, trend)
    if run:
        Backtest(specs=specs, settings=BacktestSettings()).run(events)


def instructions(bars: int, portfolios: int, trend: bool, run: bool) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            "valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/out", sys.executable, __file__,
            "--child", str(bars), "--portfolios", str(portfolios),
            *(["--trend"] if trend else []), *([] if run else ["--build-only"]),
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, env=os.environ, check=True)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count in callgrind's output:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars-a", type=int, default=5_000)
    parser.add_argument("--bars-b", type=int, default=25_000)
    parser.add_argument("--portfolios", type=int, default=1)
    parser.add_argument("--trend", action="store_true")
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.portfolios, args.trend, not args.build_only)
        return
    a, b, p, trend = args.bars_a, args.bars_b, args.portfolios, args.trend
    run = instructions(b, p, trend, True) - instructions(a, p, trend, True)
    built = instructions(b, p, trend, False) - instructions(a, p, trend, False)
    walk = "trending walk (few orders)" if trend else "random walk (an order on ~6.5% of bars)"
    print(f"{(run - built) / (b - a):,.0f} instructions per bar ({p} portfolio(s), {walk}, {a:,} -> {b:,} bars)")


if __name__ == "__main__":
    main()
