"""The orders of one portfolio: open ones and a short tail of closed ones.

Fills are de-duplicated by order state, not by a window of fill ids: an order
held here knows its own fill ids, and an order no longer held was closed and
forgotten, so no fill for it may apply (``EntryState.booked`` tells a forgotten
order from one never known). The snapshot therefore holds only what is open
and a bounded tail, whatever the portfolio's history. An order whose rejection
was only inferred is never forgotten: a later report may revive it."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal

from livecore.domain.orders import Order

ZERO = Decimal(0)


class OrderBook:
    """Open orders are kept until final; closed ones are forgotten oldest first."""

    def __init__(self, closed_window: int) -> None:
        self.closed_window = closed_window
        self._orders: dict[str, Order] = {}
        self._open: dict[str, Order] = {}  # index of the open ones (the hot path reads these)
        # the same open orders by symbol (same relative order), so the per-event
        # "open order for this symbol?" check does not scan every open order
        self._open_by_symbol: dict[str, dict[str, Order]] = {}
        # an insertion-ordered set, oldest evicted first: an OrderedDict, because a plain
        # dict emptied from the front keeps the holes at its front until it resizes,
        # so finding its oldest key grows with the window
        self._closed: OrderedDict[str, None] = OrderedDict()

    # --- orders ---------------------------------------------------------------

    def add(self, order: Order) -> None:
        self._orders[order.client_order_id] = order
        if order.is_final:
            self.closed(order)
        else:
            self._set_open(order)

    def get(self, client_order_id: str) -> Order | None:
        return self._orders.get(client_order_id)

    def __contains__(self, client_order_id: object) -> bool:
        return client_order_id in self._orders

    def __iter__(self) -> Iterator[Order]:
        return iter(self._orders.values())

    def __len__(self) -> int:
        return len(self._orders)

    def open_orders(self) -> list[Order]:
        return list(self._open.values())

    def open_for(self, symbol: str) -> list[Order]:
        by_id = self._open_by_symbol.get(symbol)
        return list(by_id.values()) if by_id else []

    def has_open(self, symbol: str) -> bool:
        return symbol in self._open_by_symbol

    @property
    def open_by_symbol(self) -> Mapping[str, Mapping[str, Order]]:
        """Symbol -> its open orders: a live view (the same dict for the book's
        lifetime), for a reader that asks on every event without a call."""
        return self._open_by_symbol

    def open_quantity(self, symbol: str) -> Decimal:
        """Signed quantity still to fill on open orders of ``symbol``."""
        return sum((o.signed_remaining for o in self.open_for(symbol)), ZERO)

    def closed(self, order: Order) -> None:
        """Note that ``order`` became final; forget the oldest closed orders beyond the
        window. An inferred rejection is held until the gateway confirms it (``closed``
        again then) or revives it."""
        self._drop_open(order.client_order_id)
        if order.inferred:
            return
        self._closed[order.client_order_id] = None
        while len(self._closed) > self.closed_window:
            oldest, _ = self._closed.popitem(last=False)
            self._orders.pop(oldest, None)

    def reopened(self, order: Order) -> None:
        """``order`` is open again (an inferred rejection was revived)."""
        self._closed.pop(order.client_order_id, None)
        self._set_open(order)

    def _set_open(self, order: Order) -> None:
        coid = order.client_order_id
        previous = self._open.get(coid)
        if previous is not None and previous.symbol != order.symbol:
            self._unindex(previous)
        self._open[coid] = order
        self._open_by_symbol.setdefault(order.symbol, {})[coid] = order

    def _drop_open(self, client_order_id: str) -> None:
        order = self._open.pop(client_order_id, None)
        if order is not None:
            self._unindex(order)

    def _unindex(self, order: Order) -> None:
        by_id = self._open_by_symbol.get(order.symbol)
        if by_id is not None:
            by_id.pop(order.client_order_id, None)
            if not by_id:
                del self._open_by_symbol[order.symbol]

    # --- snapshot -------------------------------------------------------------

    def dump(self) -> tuple[list[Order], list[str]]:
        return list(self._orders.values()), list(self._closed)

    def load(self, orders: Iterable[Order], closed: Iterable[str]) -> None:
        """Take a snapshot's orders; a tail longer than the window (an older snapshot)
        is cut to it."""
        self._orders = {o.client_order_id: o for o in orders}
        self._open = {}
        self._open_by_symbol.clear()  # in place: readers hold this dict (``open_by_symbol``)
        for order in self._orders.values():
            if order.is_open:
                self._set_open(order)
        self._closed = OrderedDict()
        for coid in closed:
            self._closed[coid] = None
        while len(self._closed) > self.closed_window:
            oldest, _ = self._closed.popitem(last=False)
            self._orders.pop(oldest, None)
