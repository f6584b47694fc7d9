"""What every part of the gateway desk shares: its collaborators, its lock and
its counters, and the few steps more than one part takes.

The desk (``desk.py``) is built from parts by responsibility: orders and the
cluster halt (``desk.py``), market data (``desk_market.py``) and book
ownership on restart and rebalance (``desk_books.py``). Each public method
takes the one desk lock, so the broker, the journal and the published
feedback change together.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from livecore.control.halt import ClusterHalt
from livecore.eventtime import EventClock
from livecore.gateway.broker import BrokerAdapter
from livecore.gateway.fencing import FenceReader
from livecore.gateway.publisher import FeedbackPublisher
from livecore.gateway.stats import GatewayStats
from livecore.ports.bus import Record, dead_letter
from livecore.ports.store import Journal
from livecore.wire.messages import DeadLetter, NewOrder
from livecore.wire.names import Topics


class DeskBase:
    """Thread-safe: each public method takes the desk lock."""

    def __init__(
        self,
        *,
        broker: BrokerAdapter,
        journal: Journal,
        fences: FenceReader,
        publisher: FeedbackPublisher,
        topics: Topics,
        require_fence: bool,
        component: str = "gateway",
        clock: Callable[[], int] = time.time_ns,
        event_clock: EventClock | None = None,
    ) -> None:
        """``event_clock``: in event time the desk's "now" is the latest market
        event seen (it replaces ``clock``)."""
        self._broker = broker
        self._journal = journal
        self._fences = fences
        self._publisher = publisher
        self._topics = topics
        self._require_fence = require_fence
        self._component = component
        self._clock = clock if event_clock is None else event_clock
        self._event_clock = event_clock
        self._cluster_halt: ClusterHalt | None = None
        self._lock = threading.RLock()
        self.stats = GatewayStats()

    def _admit(self, order: NewOrder, now: int) -> None:
        """Fence and submit ``order`` (``desk.py``)."""
        raise NotImplementedError

    def _venue_knows(self, coid: str) -> bool:
        try:
            return self._broker.lookup(coid) is not None
        except NotImplementedError:
            return any(o.client_order_id == coid for o in self._broker.open_orders())

    def _letter(self, record: Record, reason: str) -> DeadLetter:
        return dead_letter(record, reason, self._component, self._clock())

    def pump_reports(self) -> int:
        """Journal and publish what an asynchronous broker reported since the last
        call (the gateway's report loop); the count. Queued first, so a journal
        that fails keeps them for the next try."""
        with self._lock:
            reports = self._broker.drain_reports()
            self._publisher.emit(reports)
            return len(reports)

    def flush_pending(self) -> None:
        """Journal and publish reports left queued by an earlier failure."""
        with self._lock:
            self._publisher.flush_pending()
