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
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar, Protocol

from livecore.domain.params import Configurable
from livecore.wire.enums import members
from livecore.wire.messages import Bar, Side, Tick, TimeInForce


class Direction(StrEnum):
    LONG = "long"
    FLAT = "flat"
    SHORT = "short"


_Direction, _TimeInForce = members(Direction), members(TimeInForce)  # cheap member reads (wire.enums)


@dataclass(frozen=True, slots=True)
class Signal:
    """What a strategy wants for one symbol. Build it with the class methods."""

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
        return _build(cls, symbol, _Direction.LONG, None, False, limit_price, False, reason)

    @classmethod
    def short(cls, symbol: str, *, reason: str = "", limit_price: Decimal | None = None) -> Signal:
        return _build(cls, symbol, _Direction.SHORT, None, False, limit_price, False, reason)

    @classmethod
    def flat(cls, symbol: str, *, reason: str = "", limit_price: Decimal | None = None) -> Signal:
        return _build(cls, symbol, _Direction.FLAT, None, False, limit_price, False, reason)

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
        return _build(cls, symbol, None, quantity, False, limit_price, force, reason)

    @classmethod
    def cancel_open(cls, symbol: str, *, reason: str = "") -> Signal:
        """Cancel this portfolio's open orders for ``symbol`` (those the gateway has)."""
        return _build(cls, symbol, None, None, True, None, False, reason)


# The slot setters of Signal: a strategy builds a signal on most events, and the
# frozen dataclass's generated __init__ (object.__setattr__ per field) costs about
# three times as much as setting the slots directly.
_SET_SIGNAL = tuple(
    getattr(Signal, name).__set__
    for name in ("symbol", "direction", "target_qty", "cancel", "limit_price", "time_in_force", "force", "reason")
)


def _build(
    cls: type[Signal],
    symbol: str,
    direction: Direction | None,
    target_qty: Decimal | None,
    cancel: bool,
    limit_price: Decimal | None,
    force: bool,
    reason: str,
) -> Signal:
    """``cls(...)`` with these fields, validated by the same ``__post_init__``."""
    if cls is not Signal:  # a subclass may have fields of its own
        return cls(
            symbol,
            direction=direction,
            target_qty=target_qty,
            cancel=cancel,
            limit_price=limit_price,
            force=force,
            reason=reason,
        )
    signal = object.__new__(Signal)
    s_symbol, s_direction, s_target, s_cancel, s_limit, s_tif, s_force, s_reason = _SET_SIGNAL
    s_symbol(signal, symbol)
    s_direction(signal, direction)
    s_target(signal, target_qty)
    s_cancel(signal, cancel)
    s_limit(signal, limit_price)
    s_tif(signal, _TimeInForce.GTC)
    s_force(signal, force)
    s_reason(signal, reason)
    signal.__post_init__()
    return signal


Signals = Iterable[Signal] | None


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution of one of the portfolio's orders, as shown to ``on_fill``."""

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
