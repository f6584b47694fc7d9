"""Test strategies (user code, as far as the node is concerned), importable by
path from specs: ``livecore.testing.strategies:BuyOnce``."""

from __future__ import annotations

import time
from decimal import Decimal

from livecore.domain.account import AccountView
from livecore.domain.params import Param
from livecore.domain.strategy import Signal, Signals, Strategy


class BuyOnce(Strategy):
    """Hold ``quantity`` of every symbol of the universe from its first price on."""

    quantity = Param(Decimal, Decimal(1), gt=Decimal(0))

    def on_price(self, symbol: str, price: Decimal, ts_ns: int) -> Signals:
        if self.ctx.position(symbol) >= self.quantity:
            return None
        return [Signal.target(symbol, self.quantity, reason="buy once")]


class Accumulate(Strategy):
    """One more unit on every price while nothing is in flight; ``delay_s`` per event
    makes it slow on purpose (to overload its mailbox)."""

    delay_s = Param(Decimal, Decimal(0), ge=Decimal(0))

    def on_price(self, symbol: str, price: Decimal, ts_ns: int) -> Signals:
        if self.delay_s:
            time.sleep(float(self.delay_s))
        if self.ctx.has_open_order(symbol):
            return None
        return [Signal.target(symbol, self.ctx.position(symbol) + 1, reason="accumulate")]


class Idle(Strategy):
    """Never trades: what the node costs per event without a strategy's work."""


class Explode(Strategy):
    """Raises on every price: the portfolio must fault alone."""

    def on_price(self, symbol: str, price: Decimal, ts_ns: int) -> Signals:
        raise RuntimeError("strategy bug")


def spec_toml(
    pid: str,
    symbols: list[str],
    strategy: str = "livecore.testing.strategies:BuyOnce",
    params: str = "",
    cash: int = 1_000_000,
) -> str:
    listed = ", ".join(f'"{s}"' for s in symbols)
    return f"""
id = "{pid}"
currency = "USD"
initial_cash = {cash}
symbols = [{listed}]

[strategy]
class = "{strategy}"
params = {{ {params} }}

[sizer]
class = "fixed"
params = {{ quantity = 1 }}
"""


class EveryTick(Strategy):
    """One more unit on every price, even with orders in flight (latency runs)."""

    def on_start(self) -> None:
        self.wanted: dict[str, Decimal] = {}

    def on_price(self, symbol: str, price: Decimal, ts_ns: int) -> Signals:
        self.wanted[symbol] = self.wanted.get(symbol, Decimal(0)) + 1
        return [Signal.target(symbol, self.wanted[symbol], force=True, reason="every tick")]


class Probe(Strategy):
    """Buys ``quantity`` on its first price after every start (created, restored by a
    new owner after a failover or a migration, reloaded), whatever is in flight;
    then, on every ``every``-th price with nothing in flight, goes flat when long
    and long ``quantity`` when flat. Its first order at a new epoch shows when the
    new owner started trading, not when a signal happened to come (the failover
    benchmark)."""

    every = Param(int, 8, ge=1)
    quantity = Param(Decimal, Decimal(10), gt=Decimal(0))

    def on_start(self) -> None:
        self.fresh = True
        self.prices = 0

    def on_price(self, symbol: str, price: Decimal, ts_ns: int) -> Signals:
        self.prices += 1
        if self.fresh:
            self.fresh = False
            held = self.ctx.position(symbol)
            if isinstance(self.ctx, AccountView):  # a forced signal counts what is in flight as held
                held += self.ctx.open_quantity(symbol)
            return [Signal.target(symbol, held + self.quantity, force=True, reason="probe: started")]
        if self.prices % self.every or self.ctx.has_open_order(symbol):
            return None
        target = Decimal(0) if self.ctx.position(symbol) > 0 else self.quantity
        return [Signal.target(symbol, target, reason="probe")]


class LimitSwing(Strategy):
    """Resting limit orders: while flat, bid ``offset_percent`` below the last price;
    while long, offer as much above it; an order still open after ``patience`` more
    prices is cancelled. Exercises the limit paths of the paper broker: fills on
    the bar's range or at a better open, cancels, end-of-data cancels."""

    quantity = Param(Decimal, Decimal(10), gt=Decimal(0))
    offset_percent = Param(Decimal, Decimal(1), gt=Decimal(0))
    patience = Param(int, 3, ge=1)

    def on_start(self) -> None:
        self.waited: dict[str, int] = {}

    def on_price(self, symbol: str, price: Decimal, ts_ns: int) -> Signals:
        if self.ctx.has_open_order(symbol):
            self.waited[symbol] = self.waited.get(symbol, 0) + 1
            if self.waited[symbol] > self.patience:
                self.waited[symbol] = 0
                return [Signal.cancel_open(symbol, reason="stale quote")]
            return None
        self.waited[symbol] = 0
        offset = self.offset_percent / 100
        if self.ctx.position(symbol) <= 0:
            bid = (price * (1 - offset)).quantize(_CENT)
            return [Signal.target(symbol, self.quantity, limit_price=bid, reason="bid")]
        ask = (price * (1 + offset)).quantize(_CENT)
        return [Signal.target(symbol, Decimal(0), limit_price=ask, reason="offer")]


_CENT = Decimal("0.01")
