"""What the ccxt broker's two sides share: the order tracker behind one lock,
the reports waiting for the gateway, and the counters.

The gateway's threads (``broker.py``) and the event loop (``flows.py``,
``sync.py``) both change the tracker, each for a moment and never across a
network call: ``changing()`` holds the lock, and on the way out wakes the
gateway's report loop if reports are waiting.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field

from livecore.venues.ccxt.backoff import RateGate
from livecore.venues.ccxt.config import VenueConfig
from livecore.venues.ccxt.session import VenueSession
from livecore.venues.ccxt.tracker import OrderTracker
from livecore.wire.messages import OrderFeedback


@dataclass(slots=True)
class _OrderLock:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


@dataclass(slots=True)
class VenueStats:
    """Counters of one broker (logs, status, metrics)."""

    sent: int = 0
    rejected_locally: int = 0  # market rules, caps, unsupported: never sent
    rejected_by_venue: int = 0
    unknown_outcomes: int = 0  # placements without an answer, looked up
    not_received: int = 0  # of those, the venue never had
    rate_limited: int = 0  # answers 429/418 (each waited out)
    clock_resyncs: int = 0
    stream_drops: int = 0
    polls: int = 0  # REST reads of working orders (fallback and gap filling)
    gap_fills: int = 0  # order trades read because the venue filled more than was reported
    cancels_sent: int = 0
    unknown_venue_orders: int = 0  # distinct venue orders livecore did not send (reported, untouched)
    lookup_errors: int = 0


@dataclass(slots=True)
class VenueState:
    config: VenueConfig
    tracker: OrderTracker
    clock: Callable[[], int] = time.time_ns
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    rate_gate: RateGate = field(default_factory=RateGate)  # placements wait out the venue's Retry-After
    stats: VenueStats = field(default_factory=VenueStats)
    session: VenueSession | None = None
    ready: threading.Event = field(default_factory=threading.Event)
    caught_up: threading.Event = field(default_factory=threading.Event)  # the catch-up at start is done
    extra: list[OrderFeedback] = field(default_factory=list)  # reports built outside the tracker
    unknown_orders: dict[str, str] = field(default_factory=dict)  # venue order id -> what it is
    streams_down: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _order_locks: dict[str, _OrderLock] = field(default_factory=dict)  # loop thread only

    @contextmanager
    def changing(self) -> Iterator[OrderTracker]:
        with self._lock:
            try:
                yield self.tracker
            finally:
                if self.extra or self.tracker.has_reports:
                    self.ready.set()

    def add_report(self, report: OrderFeedback) -> None:
        with self._lock:
            self.extra.append(report)
            self.ready.set()

    def drain(self) -> list[OrderFeedback]:
        with self._lock:
            reports = [*self.extra, *self.tracker.drain()]
            self.extra.clear()
            self.ready.clear()
            return reports

    @asynccontextmanager
    async def exclusive(self, client_order_id: str) -> AsyncIterator[None]:
        """One flow at a time per order (placement, lookup, cancel); loop thread only."""
        entry = self._order_locks.get(client_order_id)
        if entry is None:
            entry = self._order_locks[client_order_id] = _OrderLock()
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._order_locks[client_order_id]

    def live_session(self) -> VenueSession:
        if self.session is None:
            raise RuntimeError("venue session not open")
        return self.session
