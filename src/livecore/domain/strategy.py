"""The strategy API: what a user subclasses.

A strategy sees market events for the symbols of its universe and answers
with ``Signal``s: an intent (be long / flat / short, sized by the portfolio's
sizer), an explicit target position, or a request to cancel open orders. It
never creates orders itself: risk rules and the sizer stand between the two.

Minimal example::

    class Threshold(Strategy):
        level = Param(Decimal, Decimal(100), gt=0, doc="buy below, sell above")

        def on_price(self, symbol, price, ts_ns):
            if price < self.level:
                return [Signal.long(symbol, reason="below level")]
            return [Signal.flat(symbol, reason="above level")]

``state()`` / ``restore(state)`` carry the strategy's own memory across
snapshots: return plain data (dict, list, str, int, bool, None); ``Decimal``
values come back as strings, convert them in ``restore``.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar, Protocol

import msgspec

from livecore.domain.params import Configurable
from livecore.wire.enums import members
from livecore.wire.messages import Bar, Side, Tick, TimeInForce


class Direction(StrEnum):
    LONG = "long"
    FLAT = "flat"
    SHORT = "short"


_Direction = members(Direction)  # cheap member reads (wire.enums)


class Signal(msgspec.Struct, frozen=True):
    """What a strategy wants for one symbol. Build it with the class methods.

    A frozen struct rather than a dataclass: strategies build one on most events,
    and a struct builds in C, an order of magnitude faster."""

    symbol: str
    direction: Direction | None = None
    target_qty: Decimal | None = None
    cancel: bool = False
    limit_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    force: bool = False  # order even while another order for the symbol is in flight
    reason: str = ""

    def __post_init__(self) -> None:
        kinds = (self.direction is not None) + (self.target_qty is not None) + self.cancel
        if kinds != 1:
            raise ValueError("a Signal is exactly one of: direction, target_qty, cancel")
        if self.limit_price is not None and (not self.limit_price.is_finite() or self.limit_price <= 0):
            raise ValueError(f"limit_price must be positive, got {self.limit_price}")

    @classmethod
    def long(cls, symbol: str, *, reason: str = "", limit_price: Decimal | None = None) -> Signal:
        return cls(symbol, _Direction.LONG, limit_price=limit_price, reason=reason)

    @classmethod
    def short(cls, symbol: str, *, reason: str = "", limit_price: Decimal | None = None) -> Signal:
        return cls(symbol, _Direction.SHORT, limit_price=limit_price, reason=reason)

    @classmethod
    def flat(cls, symbol: str, *, reason: str = "", limit_price: Decimal | None = None) -> Signal:
        return cls(symbol, _Direction.FLAT, limit_price=limit_price, reason=reason)

    @classmethod
    def target(
        cls,
        symbol: str,
        quantity: Decimal,
        *,
        reason: str = "",
        limit_price: Decimal | None = None,
        force: bool = False,
    ) -> Signal:
        """An explicit signed target position (the sizer is not consulted)."""
        return cls(symbol, target_qty=quantity, limit_price=limit_price, force=force, reason=reason)

    @classmethod
    def cancel_open(cls, symbol: str, *, reason: str = "") -> Signal:
        """Cancel this portfolio's open orders for ``symbol`` (those the gateway has)."""
        return cls(symbol, cancel=True, reason=reason)


Signals = Iterable[Signal] | None


class Fill(msgspec.Struct, frozen=True):
    """One execution of one of the portfolio's orders, as shown to ``on_fill`` (a
    frozen struct, like ``Signal``: one is built per fill)."""

    client_order_id: str
    fill_id: str
    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal
    commission: Decimal
    ts_ns: int
    order_done: bool


class StrategyContext(Protocol):
    """Read-only view of the portfolio a strategy may consult."""

    @property
    def cash(self) -> Decimal: ...
    @property
    def equity(self) -> Decimal: ...
    @property
    def allow_short(self) -> bool: ...
    def position(self, symbol: str) -> Decimal: ...
    def avg_cost(self, symbol: str) -> Decimal: ...
    def last_price(self, symbol: str) -> Decimal | None: ...
    def has_open_order(self, symbol: str) -> bool: ...
    def holds(self, symbol: str, direction: Direction) -> bool:
        """Whether a level signal in ``direction`` would change nothing now."""
        ...


class Strategy(Configurable):
    """Base class of every strategy. Override ``on_bar``/``on_tick`` or just ``on_price``."""

    reserved_names: ClassVar[frozenset[str]] = frozenset({"symbols"})

    def __init__(self, *, symbols: Iterable[str] = (), **params: Any) -> None:
        super().__init__(**params)
        self._symbols = frozenset(symbols)
        self._ctx: StrategyContext | None = None

    # --- universe -------------------------------------------------------------

    @property
    def symbols(self) -> frozenset[str]:
        """The symbols this strategy trades; the node routes their events here."""
        return self._symbols

    def set_symbols(self, symbols: Iterable[str]) -> None:
        """Change the universe at run time (the portfolio bumps ``universe_version``)."""
        new = frozenset(symbols)
        if new != self._symbols:
            self._symbols = new

    # --- context --------------------------------------------------------------

    def bind(self, ctx: StrategyContext) -> None:
        """Called by the portfolio before ``on_start``."""
        self._ctx = ctx

    @property
    def ctx(self) -> StrategyContext:
        if self._ctx is None:
            raise RuntimeError(f"{type(self).__name__} is not bound to a portfolio yet")
        return self._ctx

    # --- callbacks ------------------------------------------------------------

    def on_start(self) -> None:
        """Once, when the portfolio is created, restored or reloaded (before ``restore``)."""

    def on_bar(self, bar: Bar) -> Signals:
        return self.on_price(bar.symbol, bar.close, bar.ts_ns)

    def on_tick(self, tick: Tick) -> Signals:
        return self.on_price(tick.symbol, tick.price, tick.ts_ns)

    def on_price(self, symbol: str, price: Decimal, ts_ns: int) -> Signals:
        """Shared entry for bars (close) and ticks (price): built-ins use only this."""
        return None

    def on_fill(self, fill: Fill) -> Signals:
        """An execution of one of this portfolio's orders (not called for replayed fills)."""
        return None

    # --- memory ---------------------------------------------------------------

    def state(self) -> Any:
        """The strategy's own memory as plain data (None: nothing to keep)."""
        return None

    def restore(self, state: Any) -> None:
        """Reload what ``state()`` returned. The default accepts only None."""
        if state is not None:
            raise NotImplementedError(f"{type(self).__name__} returned state but does not restore it")
