"""The backtest benches' data: synthetic one-minute bars and the SMA(5)/SMA(20)
crossover spec, shared by ``bench_backtest.py`` and ``bench_backtest_ir.py``."""

from __future__ import annotations

import random
from decimal import Decimal

from livecore.domain.spec import PortfolioSpec, parse_spec
from livecore.wire.messages import Bar

MINUTE_NS = 60 * 1_000_000_000
START_NS = 1_262_304_000 * 1_000_000_000  # 2010-01-01
FAST, SLOW, SIZE = 5, 20, 100


def synthetic_bars(symbol: str, n: int, seed: int, *, drift: tuple[int, int] = (-30, 30)) -> list[Bar]:
    """A random walk in cents (prices exact in Decimal and in float); each step is
    drawn from ``drift`` (inclusive)."""
    rnd = random.Random(seed)
    cents = 10_000
    bars = []
    low_step, high_step = drift
    for i in range(n):
        open_ = cents
        cents = max(100, cents + rnd.randint(low_step, high_step))
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


def trending_bars(symbol: str, n: int, seed: int) -> list[Bar]:
    """An upward drifting walk: the SMA(5)/SMA(20) crossover rarely crosses on it."""
    return synthetic_bars(symbol, n, seed, drift=(-2, 30))
