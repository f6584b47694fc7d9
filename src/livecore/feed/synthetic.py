"""Synthetic market data: geometric Brownian motion in event time.

Each event picks a symbol at random and moves its log-price by
``N(drift - sigma^2 / 2, sigma)``: GBM where one step is one event of that
symbol. Everything comes from one ``random.Random(seed)``, so the same seed
gives the same sequence of symbols, prices and sizes. Prices are Decimals
quantised to ``price_quantum`` (0.01 by default), never below one quantum.
Event ``i`` is scheduled ``i / rate`` seconds after the start; the runner
keeps to that absolute schedule, so pacing does not drift.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from livecore.checks import at_least, non_negative, positive, require
from livecore.wire.messages import Tick

Scheduled = tuple[float, Tick]


@dataclass(frozen=True, slots=True)
class SyntheticSettings:
    """``symbols`` names SYM0001..; ``rate`` events/s in total; ``duration_s``
    None = endless; ``sigma``/``drift`` per event of a symbol."""

    symbols: int = 10
    rate: float = 100.0
    duration_s: float | None = None
    seed: int = 0
    sigma: float = 0.002
    drift: float = 0.0
    start_min: float = 20.0
    start_max: float = 200.0
    price_quantum: Decimal = Decimal("0.01")
    max_size: int = 1000

    def __post_init__(self) -> None:
        at_least(self, 1, "symbols", "max_size")
        positive(self, "rate", "start_min")
        non_negative(self, "sigma")
        if self.duration_s is not None:
            non_negative(self, "duration_s")
        require(self.start_min <= self.start_max, self, "start_max", f"must be >= start_min ({self.start_min})")

    @property
    def total_events(self) -> int | None:
        return None if self.duration_s is None else round(self.rate * self.duration_s)


def symbol_names(count: int) -> list[str]:
    """``SYM0001``, ``SYM0002``, ... (wider numbers past 9999)."""
    width = max(4, len(str(count)))
    return [f"SYM{i:0{width}d}" for i in range(1, count + 1)]


class SyntheticFeed:
    """Deterministic tick generator; ``events()`` yields ``(offset_s, tick)``.

    Ticks carry ``ts_ns = 0``: the runner stamps them when it publishes."""

    def __init__(self, settings: SyntheticSettings) -> None:
        self.settings = settings
        self.symbols = symbol_names(settings.symbols)
        self._rng = random.Random(settings.seed)
        self._log_prices = [math.log(self._rng.uniform(settings.start_min, settings.start_max)) for _ in self.symbols]
        self._step = settings.drift - settings.sigma**2 / 2

    def next_tick(self, ts_ns: int = 0) -> Tick:
        """The next event of the sequence."""
        rng, s = self._rng, self.settings
        index = rng.randrange(len(self.symbols))
        log_price = self._log_prices[index] + self._step + s.sigma * rng.gauss(0.0, 1.0)
        self._log_prices[index] = log_price
        price = Decimal(math.exp(log_price)).quantize(s.price_quantum, rounding=ROUND_HALF_EVEN)
        return Tick(
            symbol=self.symbols[index],
            ts_ns=ts_ns,
            price=max(price, s.price_quantum),
            size=Decimal(rng.randint(1, s.max_size)),
        )

    def events(self) -> Iterator[Scheduled]:
        total = self.settings.total_events
        interval = 1.0 / self.settings.rate
        i = 0
        while total is None or i < total:
            yield i * interval, self.next_tick()
            i += 1
