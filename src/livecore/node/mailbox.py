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
from collections.abc import Sequence
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
        """Queue ``slots`` in order; return (schedule?, how many queued events were replaced).
        The hot calls here take the lock with ``acquire``/``release``: a ``with`` costs
        about twice as much, and these run once per routed batch and processor."""
        lock = self._lock
        lock.acquire()
        try:
            if self._closed:
                return False, 0
            market = self._market
            if self._latest is None and len(market) + len(slots) <= self._capacity:
                market.extend(slots)  # below capacity all along: nothing can conflate
                return self._claim_schedule(), 0
            return self._claim_schedule(), self._conflate(slots)
        finally:
            lock.release()

    def _conflate(self, slots: list[MarketSlot]) -> int:
        """Queue ``slots`` at or over capacity: a symbol already queued gets the new
        event in its slot. Returns how many were replaced (lock held)."""
        market, capacity, conflated = self._market, self._capacity, 0
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
        return conflated

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
        control, market = self.take_lanes(limit)
        return Batch(list(control), list(market))

    def take_lanes(self, limit: int) -> tuple[Sequence[ControlItem], Sequence[MarketSlot]]:
        """What ``take`` takes, as (control, market): no ``Batch`` built and an empty
        lane is ``()`` (a worker takes once per run of a processor)."""
        lock = self._lock
        lock.acquire()
        try:
            control: Sequence[ControlItem] = self._take_control(limit) if self._control else ()
            market = self._market
            room = limit - len(control)
            if not market or room <= 0:
                return control, ()
            if room >= len(market):
                taken = list(market)
                market.clear()
                self._latest = None
                return control, taken
            return control, self._take_market(room)
        finally:
            lock.release()

    def _take_market(self, count: int) -> list[MarketSlot]:
        """The first ``count`` market slots (fewer than queued), unindexed (lock held)."""
        popleft = self._market.popleft
        taken = [popleft() for _ in range(count)]
        latest = self._latest
        if latest is not None:
            for slot in taken:
                if latest.get(slot.symbol) is slot:
                    del latest[slot.symbol]
        return taken

    def _take_control(self, limit: int) -> list[ControlItem]:
        """Up to ``limit`` control items, their counters updated (lock held)."""
        control, taken = self._control, list[ControlItem]()
        while control and len(taken) < limit:
            item = control.popleft()
            if isinstance(item, FeedbackItem):
                self._feedback_queued -= 1
            elif isinstance(item, SnapshotDue):
                self._snapshot_queued = False
            taken.append(item)
        return taken

    def finish(self) -> bool:
        """After a batch: True if more is queued (stay scheduled), else clear the flag."""
        lock = self._lock
        lock.acquire()
        try:
            if (self._market or self._control) and not self._closed:
                return True
            self._scheduled = False
            return False
        finally:
            lock.release()

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
