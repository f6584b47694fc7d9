"""Built-in strategies. Each works on bars (close) and ticks (price) alike.

They emit level signals (be long / be flat) on every event where the rule
holds; the pipeline turns a signal into an order only when the position
differs, so a rejected or vetoed entry is retried on the next event and an
existing position is never re-bought.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from livecore.domain.books import ACCOUNTING
from livecore.domain.errors import ParamError
from livecore.domain.params import Param
from livecore.domain.strategy import Direction, Signal, Signals, Strategy, StrategyContext


class PriceWindows:
    """The last ``size`` prices of each symbol."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._windows: dict[str, deque[Decimal]] = {}

    def push(self, symbol: str, price: Decimal) -> deque[Decimal]:
        window = self._windows.get(symbol)
        if window is None:
            window = self._windows[symbol] = deque(maxlen=self.size)
        window.append(price)
        return window

    def get(self, symbol: str) -> deque[Decimal]:
        return self._windows.get(symbol, deque(maxlen=self.size))

    def state(self) -> dict[str, list[str]]:
        return {symbol: [str(p) for p in window] for symbol, window in sorted(self._windows.items())}

    def restore(self, state: Mapping[str, list[str]]) -> None:
        self._windows = {
            symbol: deque((Decimal(p) for p in prices), maxlen=self.size) for symbol, prices in state.items()
        }


_ZERO = Decimal(0)
_LONG, _SHORT = Direction.LONG, Direction.SHORT  # Enum members read once (slow on Python 3.11)
_EXACT = ACCOUNTING  # sums of window prices: exact (80 digits), never rounded
# bound once: looking a context method up costs as much as calling it
_add, _subtract, _multiply = _EXACT.add, _EXACT.subtract, _EXACT.multiply


def _exact_sum(values: list[Decimal]) -> Decimal:
    total = _ZERO
    for value in values:
        total = _add(total, value)
    return total


def mean(values: list[Decimal]) -> Decimal:
    return sum(values, _ZERO) / len(values)


class _WindowStrategy(Strategy):
    """A strategy whose whole memory is a price window per symbol."""

    def window_size(self) -> int:
        raise NotImplementedError

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.windows = PriceWindows(self.window_size())

    def state(self) -> Any:
        return {"windows": self.windows.state()}

    def restore(self, state: Any) -> None:
        if state is not None:
            self.windows.restore(state["windows"])


class _RunningSums:
    """One symbol's full price window and the running totals of its prices: each
    entry of ``totals`` is the exact sum of every price seen up to one of the last
    ``slow + 1`` prices, so any window's sum is a difference of two of them. A new
    price costs one addition (updated in place, no allocation per price)."""

    __slots__ = ("totals", "window")

    def __init__(self, window: deque[Decimal], slow: int) -> None:
        self.window = window
        self.totals: deque[Decimal] = deque([_ZERO], maxlen=slow + 1)
        total = _ZERO
        for price in window:
            total = _add(total, price)
            self.totals.append(total)


class MovingAverageCross(_WindowStrategy):
    """Long while the fast moving average is above the slow one; flat (or short) below."""

    fast = Param(int, 5, ge=1, doc="prices in the fast average")
    slow = Param(int, 20, ge=2, doc="prices in the slow average")
    short = Param(bool, False, doc="go short (not flat) below; needs allow_short")

    @classmethod
    def check_params(cls, values: Mapping[str, Any]) -> None:
        if values["fast"] >= values["slow"]:
            raise ParamError("fast", f"must be smaller than slow ({values['slow']}), got {values['fast']}")

    def window_size(self) -> int:
        return self.slow

    def bind(self, ctx: StrategyContext) -> None:
        super().bind(ctx)
        self._position, self._holds = ctx.position, ctx.holds  # asked on every price
        self._working = ctx.has_open_order

    def on_start(self) -> None:
        self._sums: dict[str, _RunningSums] = {}
        # the parameters under names of their own: an instance attribute that shadows
        # a class descriptor (``Param``) is read by CPython's slow, unspecialised path
        self._fast_n, self._slow_n, self._short = self.fast, self.slow, self.short
        self._below = Direction.SHORT if self.short else Direction.FLAT  # the level when fast < slow
        # fast mean > slow mean  <=>  fast_sum * slow > slow_sum * fast; with both
        # factors divided by their gcd one of them is often 1 (5 and 20: 4 and 1)
        g = math.gcd(self.fast, self.slow)
        self._fast_factor = Decimal(self.slow // g) if self.slow > g else None
        self._slow_factor = Decimal(self.fast // g) if self.fast > g else None
        # symbol -> ([long], [exit]): the answers that change nothing (the position is
        # held, or an order for it is working, and the pipeline suppresses them). A
        # level signal is sent on every price and these never change, so they are
        # built once (signals are immutable; the portfolio only reads the lists)
        self._held: dict[str, tuple[list[Signal], list[Signal]]] = {}

    def restore(self, state: Any) -> None:
        super().restore(state)
        self._sums = {}

    def on_price(self, symbol: str, price: Decimal, ts_ns: int) -> Signals:
        fast_n, slow_n = self._fast_n, self._slow_n
        running = self._sums.get(symbol)
        # a symbol's sums exist once its window is full, and a full window stays full
        # (``maxlen``); ``restore`` drops them, so a restored window is summed afresh
        if running is None:
            window = self.windows.push(symbol, price)
            if len(window) < slow_n:
                return None
            running = self._sums[symbol] = _RunningSums(window, slow_n)
        else:
            running.window.append(price)
            running.totals.append(_add(running.totals[-1], price))
        totals = running.totals
        latest = totals[-1]
        fast_sum, slow_sum = _subtract(latest, totals[-1 - fast_n]), _subtract(latest, totals[0])
        # the means compared exactly, by cross-multiplication (a factor of 1 is skipped)
        fast_factor, slow_factor = self._fast_factor, self._slow_factor
        fast_x = fast_sum if fast_factor is None else _multiply(fast_sum, fast_factor)
        slow_x = slow_sum if slow_factor is None else _multiply(slow_sum, slow_factor)
        if fast_x > slow_x:
            level, relation = _LONG, ">"
        elif fast_x < slow_x:
            level, relation = self._below, "<"
        else:
            return None
        if self._holds(symbol, level):  # the usual case: the signal would change nothing
            return None
        wanted = 1 if level is _LONG else -1 if level is _SHORT else 0
        position = self._position(symbol)
        met = (position > _ZERO) if wanted > 0 else (position < _ZERO) if wanted < 0 else not position
        # held, or not yet but an order is working: the pipeline suppresses the signal,
        # so its reason is the short one (no averages written out on every price)
        if met or self._working(symbol):
            held = self._held.get(symbol)
            if held is None:
                held = self._held[symbol] = (
                    [Signal.long(symbol, reason="fast > slow")],
                    [self._exit(symbol, "fast < slow")],
                )
            return held[0] if wanted > 0 else held[1]
        # the signal can change the position: write the averages out
        reason = f"fast {fast_sum / fast_n:.4f} {relation} slow {slow_sum / slow_n:.4f}"
        return [Signal.long(symbol, reason=reason) if wanted > 0 else self._exit(symbol, reason)]

    def _exit(self, symbol: str, reason: str) -> Signal:
        return Signal.short(symbol, reason=reason) if self._short else Signal.flat(symbol, reason=reason)


class Breakout(_WindowStrategy):
    """Long when the price breaks above the highest of the last ``lookback`` prices;
    flat when it falls below the lowest of the last ``exit_lookback``."""

    lookback = Param(int, 20, ge=1, doc="prices whose high must be broken to enter")
    exit_lookback = Param(int, 10, ge=1, doc="prices whose low must be broken to exit")
    short = Param(bool, False, doc="go short on a break below the lookback low; needs allow_short")

    def window_size(self) -> int:
        return max(self.lookback, self.exit_lookback)

    def on_price(self, symbol: str, price: Decimal, ts_ns: int) -> Signals:
        previous = list(self.windows.get(symbol))
        self.windows.push(symbol, price)
        if len(previous) < self.window_size():
            return None
        entry = previous[-self.lookback :]
        exit_ = previous[-self.exit_lookback :]
        if price > max(entry):
            return [Signal.long(symbol, reason=f"{price} above {self.lookback}-high {max(entry)}")]
        if self.short and price < min(entry):
            return [Signal.short(symbol, reason=f"{price} below {self.lookback}-low {min(entry)}")]
        position = self.ctx.position(symbol)
        if position > 0 and price < min(exit_):
            return [Signal.flat(symbol, reason=f"{price} below {self.exit_lookback}-low {min(exit_)}")]
        if position < 0 and price > max(exit_):
            return [Signal.flat(symbol, reason=f"{price} above {self.exit_lookback}-high {max(exit_)}")]
        return None


class BollingerReversion(_WindowStrategy):
    """Buy below the lower Bollinger band, exit at the mean; optionally short above the upper."""

    window = Param(int, 20, ge=2, doc="prices in the mean and standard deviation")
    num_std = Param(Decimal, Decimal(2), gt=0, doc="band width in standard deviations")
    short = Param(bool, False, doc="go short above the upper band; needs allow_short")

    def window_size(self) -> int:
        return self.window

    def on_price(self, symbol: str, price: Decimal, ts_ns: int) -> Signals:
        window = list(self.windows.push(symbol, price))
        if len(window) < self.window:
            return None
        centre = mean(window)
        deviation = (sum(((p - centre) ** 2 for p in window), Decimal(0)) / len(window)).sqrt()
        lower, upper = centre - self.num_std * deviation, centre + self.num_std * deviation
        position = self.ctx.position(symbol)
        if price < lower:
            return [Signal.long(symbol, reason=f"{price} below lower band {lower:.4f}")]
        if price > upper and self.short:
            return [Signal.short(symbol, reason=f"{price} above upper band {upper:.4f}")]
        if position > 0 and price >= centre:
            return [Signal.flat(symbol, reason=f"{price} back at mean {centre:.4f}")]
        if position < 0 and price <= centre:
            return [Signal.flat(symbol, reason=f"{price} back at mean {centre:.4f}")]
        return None


class BuyAndHold(Strategy):
    """Buy each symbol of the universe once (sized by the sizer) and keep it."""

    def on_price(self, symbol: str, price: Decimal, ts_ns: int) -> Signals:
        return [Signal.long(symbol, reason="buy and hold")]
