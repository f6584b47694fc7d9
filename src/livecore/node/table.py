"""The hosted-portfolio table: which processor runs which portfolio on this node.

``HostedPortfolios`` is the only owner of the table and its lock. Hosting
(``node/hosting.py``) is the only writer (``add``, ``discard``, ``clear``, each
under its own serialising lock); the market and feedback loops, the heartbeat,
the node's status and ``LiveCore`` only read, through the queries below.

A lookup (``get``, ``in``, ``[]``) takes no lock: it is one dict read, atomic
under the GIL, and runs for every routed event. Anything that walks the table
takes a copy under the lock first (``processors``), so a load or unload on
another thread never changes a dict being iterated.
"""

from __future__ import annotations

import threading

import msgspec

from livecore.node.processor import PortfolioProcessor
from livecore.wire.messages import OrderType


class _OpenOrder(msgspec.Struct):
    order_type: str


class _OpenOrders(msgspec.Struct):
    """The part of a portfolio's JSON view that ``in_flight_market_orders`` reads."""

    open_orders: list[_OpenOrder]


_open_orders = msgspec.json.Decoder(_OpenOrders)


class HostedPortfolios:
    """Portfolio id -> its ``PortfolioProcessor``, for one node."""

    def __init__(self, *, node_id: str) -> None:
        self._node_id = node_id
        self._by_id: dict[str, PortfolioProcessor] = {}
        self._lock = threading.Lock()

    # --- lookups (no lock: one dict read) ------------------------------------------------

    def get(self, portfolio_id: str) -> PortfolioProcessor | None:
        return self._by_id.get(portfolio_id)

    def __getitem__(self, portfolio_id: str) -> PortfolioProcessor:
        return self._by_id[portfolio_id]

    def __contains__(self, portfolio_id: object) -> bool:
        return portfolio_id in self._by_id

    def __len__(self) -> int:
        return len(self._by_id)

    # --- walks (a copy taken under the lock) ---------------------------------------------

    def processors(self) -> list[PortfolioProcessor]:
        with self._lock:
            return list(self._by_id.values())

    def ids(self) -> list[str]:
        with self._lock:
            return list(self._by_id)

    def epochs(self) -> dict[str, int]:
        return {p.portfolio_id: p.epoch for p in self.processors()}

    def in_flight_market_orders(self) -> int:
        """Market orders the hosted portfolios still see open (sent, not final yet),
        read from each processor's cached view: reading it changes nothing."""
        count = 0
        for processor in self.processors():
            view = processor.view_json(self._node_id)
            if view is not None:
                orders = _open_orders.decode(view).open_orders
                count += sum(1 for o in orders if o.order_type == OrderType.MARKET)
        return count

    # --- changes (hosting only) ----------------------------------------------------------

    def add(self, processor: PortfolioProcessor) -> None:
        """Host ``processor``, replacing whatever ran its portfolio before."""
        with self._lock:
            self._by_id[processor.portfolio_id] = processor

    def discard(self, processor: PortfolioProcessor) -> bool:
        """Remove ``processor`` if it is still the one hosted for its portfolio."""
        with self._lock:
            if self._by_id.get(processor.portfolio_id) is not processor:
                return False
            del self._by_id[processor.portfolio_id]
            return True

    def clear(self) -> None:
        with self._lock:
            self._by_id.clear()
