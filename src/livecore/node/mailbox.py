"""A portfolio's bounded mailbox: market data conflates, everything else waits.

Two lanes. The *market* lane holds at most ``capacity`` events in arrival
order; when it is full, a new event for a symbol that already has one queued
replaces that queued event (the newest price wins) and the replaced one is
counted as dropped. An event for a symbol with nothing queued is still
accepted, so the lane never holds more than ``capacity`` plus one event per
symbol, and no symbol loses its latest price. The *control* lane carries order
feedback, delivery confirmations and internal requests; it is never dropped:
feedback has its own bound, and a full feedback lane makes the producer wait;
a delivery confirmation exists per order in flight; at most one ``SnapshotDue``
is queued at a time (a second request while one waits adds nothing), so a
processor that is slow to run does not pile up periodic snapshot requests.

The mailbox also carries the processor's *scheduled* flag, under the same
lock, so that a processor sits on at most one worker at a time.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

import msgspec

from livecore.wire.messages import Bar, OrderFeedback, Tick


class MarketSlot(msgspec.Struct, gc=False):
    """One queued market event; conflation overwrites ``event`` in place. A msgspec
    struct: one is built per routed event, and this is cheaper than a Python
    ``__init__`` (no reference cycle runs through a slot, so no GC tracking)."""

    symbol: str
    event: Tick | Bar
    received_ns: int


@dataclass(slots=True)
class FeedbackTicket:
    """Tracks one consumed feedback record until the snapshot holding it is durable."""

    partition: int
    offset: int
    done: bool = False


@dataclass(frozen=True, slots=True)
class FeedbackItem:
    feedback: OrderFeedback
    ticket: FeedbackTicket | None


@dataclass(frozen=True, slots=True)
class Submitted:
    """The bus confirmed delivery of this order: mark it submitted."""

    client_order_id: str


@dataclass(frozen=True, slots=True)
class SnapshotDue:
    """Persist a snapshot now if anything changed since the last one."""


ControlItem = FeedbackItem | Submitted | SnapshotDue


@dataclass(slots=True)
class Batch:
    control: list[ControlItem] = field(default_factory=list)
    market: list[MarketSlot] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.control) + len(self.market)


class Mailbox:
    """Thread-safe. ``put_*`` return True when the caller must schedule the processor."""

    def __init__(self, capacity: int, feedback_capacity: int) -> None:
        self._capacity = capacity
        self._feedback_capacity = feedback_capacity
        self._lock = threading.Lock()
        self._market: deque[MarketSlot] = deque()
        # symbol -> its last queued slot; only conflation needs it, so it is built when
        # the lane reaches capacity and dropped when the lane empties (None: not built)
        self._latest: dict[str, MarketSlot] | None = None
        self._control: deque[ControlItem] = deque()
        self._feedback_queued = 0
        self._snapshot_queued = False
        self._scheduled = False
        self._closed = False

    # --- producers -----------------------------------------------------------

    def put_market(self, slots: list[MarketSlot]) -> tuple[bool, int]:
        """Queue ``slots`` in order; return (schedule?, how many queued events were replaced)."""
        conflated = 0
        with self._lock:
            if self._closed:
                return False, 0
            market, capacity = self._market, self._capacity
            if self._latest is None and len(market) + len(slots) <= capacity:
                market.extend(slots)  # below capacity all along: nothing can conflate
                return self._claim_schedule(), 0
            latest = self._index()
            for slot in slots:
                if len(market) >= capacity:
                    queued = latest.get(slot.symbol)
                    if queued is not None:
                        queued.event = slot.event
                        queued.received_ns = slot.received_ns
                        conflated += 1
                        continue
                market.append(slot)
                latest[slot.symbol] = slot
            return self._claim_schedule(), conflated

    def has_feedback_room(self) -> bool:
        return self._feedback_queued < self._feedback_capacity

    def put_feedback(self, item: FeedbackItem) -> tuple[bool, bool]:
        """Return (accepted, schedule?). Refused when full (the caller waits) or closed."""
        with self._lock:
            if self._closed or self._feedback_queued >= self._feedback_capacity:
                return False, False
            self._control.append(item)
            self._feedback_queued += 1
            return True, self._claim_schedule()

    def put_control(self, item: Submitted | SnapshotDue) -> bool:
        """Never refused while open (a ``SnapshotDue`` while one is queued is already
        covered by it); return schedule?."""
        with self._lock:
            if self._closed:
                return False
            if isinstance(item, SnapshotDue):
                if self._snapshot_queued:
                    return False
                self._snapshot_queued = True
            self._control.append(item)
            return self._claim_schedule()

    # --- the one consumer -----------------------------------------------------

    def take(self, limit: int) -> Batch:
        """Up to ``limit`` items: all queued control first (fills before prices), then market."""
        batch = Batch()
        with self._lock:
            control = self._control
            while control and len(batch.control) < limit:
                item = control.popleft()
                if isinstance(item, FeedbackItem):
                    self._feedback_queued -= 1
                elif isinstance(item, SnapshotDue):
                    self._snapshot_queued = False
                batch.control.append(item)
            market = self._market
            room = limit - len(batch.control)
            if market and room > 0:
                if room >= len(market):
                    batch.market = list(market)
                    market.clear()
                    self._latest = None
                else:
                    popleft = market.popleft
                    taken = batch.market = [popleft() for _ in range(room)]
                    latest = self._latest
                    if latest is not None:
                        for slot in taken:
                            if latest.get(slot.symbol) is slot:
                                del latest[slot.symbol]
        return batch

    def finish(self) -> bool:
        """After a batch: True if more is queued (stay scheduled), else clear the flag."""
        with self._lock:
            if (self._market or self._control) and not self._closed:
                return True
            self._scheduled = False
            return False

    def close(self) -> list[FeedbackItem]:
        """Refuse everything from now on; return the feedback still queued (not applied)."""
        with self._lock:
            self._closed = True
            left = [item for item in self._control if isinstance(item, FeedbackItem)]
            self._control.clear()
            self._market.clear()
            self._latest = None
            self._feedback_queued = 0
            self._snapshot_queued = False
            return left

    # --- observation ------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._market) + len(self._control)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def idle(self) -> bool:
        """Nothing queued and no batch running (the processor is not scheduled)."""
        return not self._scheduled

    def _index(self) -> dict[str, MarketSlot]:
        """The symbol -> last queued slot index, built from the lane on first need."""
        latest = self._latest
        if latest is None:
            latest = self._latest = {slot.symbol: slot for slot in self._market}
        return latest

    def _claim_schedule(self) -> bool:
        if self._scheduled:
            return False
        self._scheduled = True
        return True
