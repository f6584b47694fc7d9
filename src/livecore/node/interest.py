"""InterestMap: which hosted portfolios trade which symbol.

Plain dicts. Readers (the market-data loop) do one ``dict.get`` per event and
receive an immutable tuple, so they never lock; writers (load, unload, reload,
a strategy changing its universe) replace tuples under a lock. A symbol nobody
trades maps to nothing: there is no broadcast fallback.

A reservation (``reserve``) adds symbols to ``symbols()``, hence to the
partitions the market consumer reads, without routing them to anyone: a
portfolio prepared for a coming load (``node/prepared.py``) has its
partitions assigned before it is hosted.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping

_NOBODY: tuple[str, ...] = ()


class InterestMap:
    """symbol -> portfolio ids, and its inverse, kept consistent."""

    def __init__(self) -> None:
        self._by_symbol: dict[str, tuple[str, ...]] = {}
        self._by_portfolio: dict[str, frozenset[str]] = {}
        self._reserved: dict[str, frozenset[str]] = {}  # read, routed to nobody
        self._lock = threading.Lock()

    def lookup(self, symbol: str) -> tuple[str, ...]:
        """The portfolios interested in ``symbol`` (empty if none). Lock-free."""
        return self._by_symbol.get(symbol, _NOBODY)

    @property
    def routes(self) -> Mapping[str, tuple[str, ...]]:
        """The live symbol -> portfolio ids table (read only; always the same object),
        for a reader that looks up a whole batch: ``routes.get(symbol)``."""
        return self._by_symbol

    def set(self, portfolio_id: str, symbols: Iterable[str]) -> None:
        """Make ``symbols`` the whole interest of ``portfolio_id`` (load, reload, universe change)."""
        wanted = frozenset(symbols)
        with self._lock:
            previous = self._by_portfolio.get(portfolio_id, frozenset())
            for symbol in previous - wanted:
                self._discard(symbol, portfolio_id)
            for symbol in wanted - previous:
                current = self._by_symbol.get(symbol, _NOBODY)
                self._by_symbol[symbol] = (*current, portfolio_id)
            if wanted:
                self._by_portfolio[portfolio_id] = wanted
            else:
                self._by_portfolio.pop(portfolio_id, None)

    def remove(self, portfolio_id: str) -> None:
        """Forget ``portfolio_id`` entirely (unload, migration, lost fence)."""
        with self._lock:
            for symbol in self._by_portfolio.pop(portfolio_id, frozenset()):
                self._discard(symbol, portfolio_id)

    def reserve(self, key: str, symbols: Iterable[str]) -> None:
        """Make ``symbols`` the reservation of ``key``: read, routed to nobody."""
        with self._lock:
            self._reserved[key] = frozenset(symbols)

    def release(self, key: str) -> bool:
        """Drop the reservation of ``key``; True if there was one."""
        with self._lock:
            return self._reserved.pop(key, None) is not None

    def clear(self) -> None:
        with self._lock:
            self._by_symbol.clear()  # in place: ``routes`` stays the live table
            self._by_portfolio = {}
            self._reserved = {}

    def symbols_of(self, portfolio_id: str) -> frozenset[str]:
        return self._by_portfolio.get(portfolio_id, frozenset())

    def symbols(self) -> frozenset[str]:
        """Every symbol to read: those at least one hosted portfolio trades, and the
        reserved ones (under the lock: the tables must not change while copied)."""
        with self._lock:
            if not self._reserved:
                return frozenset(self._by_symbol)
            return frozenset(self._by_symbol).union(*self._reserved.values())

    def __len__(self) -> int:
        """Number of symbols with at least one interested portfolio."""
        return len(self._by_symbol)

    def _discard(self, symbol: str, portfolio_id: str) -> None:
        remaining = tuple(p for p in self._by_symbol.get(symbol, _NOBODY) if p != portfolio_id)
        if remaining:
            self._by_symbol[symbol] = remaining
        else:
            self._by_symbol.pop(symbol, None)
